/**
 * The ids of the DX commands.
 */
export namespace CommandIDs {
  /** Open (reveal) the DX sidebar. */
  export const open = 'dx:open';
  /** Create a project (asks for its name). */
  export const newProject = 'dx:new-project';
  /** Show the "Add package" form for the selected project. */
  export const addPackage = 'dx:add-package';
  /** Choose a secrets.json and upload it to the platform scope. */
  export const uploadPlatformSecrets = 'dx:upload-platform-secrets';
  /** Reload everything the DX sidebar shows. */
  export const refresh = 'dx:refresh';
  /** Open a package's script in a read-only viewer (args: project, package, script). */
  export const openScript = 'dx:open-script';
}
