/**
 * The dx-jupyter JupyterLab extension: the "DX" sidebar (projects, packages,
 * executions, secrets), its commands, and read-only script viewers.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  InputDialog,
  MainAreaWidget,
  Notification,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { addIcon, fileUploadIcon, refreshIcon } from '@jupyterlab/ui-components';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import type { Widget } from '@lumino/widgets';
import { DXClient, errorMessage } from './api';
import { CommandIDs } from './commands';
import { DXSidebarWidget } from './components/DXSidebar';
import { dxIcon } from './icons';
import { DXModel } from './model';
import { IScriptRef, createScriptViewer, scriptViewerId } from './scriptViewer';
import { describeUpload } from './state';

/** The id of the sidebar widget (also used by the layout restorer). */
const SIDEBAR_ID = 'dx-jupyter-sidebar';

/** The palette category of the commands. */
const CATEGORY = 'DX';

/** Read a script reference from command arguments, or `null`. */
function scriptRef(args: ReadonlyPartialJSONObject): IScriptRef | null {
  const { project, package: pkg, script } = args;
  if (typeof project === 'string' && typeof pkg === 'string' && typeof script === 'string') {
    return { project, package: pkg, script };
  }
  return null;
}

/** Let the user choose one JSON file; resolves `null` if nothing was chosen. */
function chooseJsonFile(): Promise<File | null> {
  return new Promise(resolve => {
    const input = document.createElement('input');
    input.type = 'file';
    input.accept = '.json,application/json';
    input.style.display = 'none';
    input.dataset.testid = 'dx-platform-secrets-chooser';
    const done = (file: File | null) => {
      input.remove();
      resolve(file);
    };
    input.addEventListener('change', () => done(input.files?.[0] ?? null), { once: true });
    input.addEventListener('cancel', () => done(null), { once: true });
    document.body.appendChild(input);
    input.click();
  });
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'dx-jupyter:plugin',
  description:
    'The DX platform in JupyterLab: projects, packages, executions and scoped secrets.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer, IEditorServices, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    editorServices: IEditorServices | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load('dx_jupyter');
    const { commands, shell } = app;
    const client = new DXClient({ serverSettings: app.serviceManager.serverSettings });
    const model = new DXModel(client);

    const sidebar = new DXSidebarWidget({ model, trans, commands });
    sidebar.id = SIDEBAR_ID;
    sidebar.title.icon = dxIcon;
    sidebar.title.caption = trans.__('DX');
    sidebar.title.label = '';
    shell.add(sidebar, 'left', { rank: 600, type: 'DX' });
    restorer?.add(sidebar, SIDEBAR_ID);

    const openSidebar = () => {
      shell.activateById(sidebar.id);
    };

    // Read-only script viewers, restored with the layout.
    const refs = new WeakMap<Widget, IScriptRef>();
    const tracker = new WidgetTracker<MainAreaWidget>({ namespace: 'dx-script' });
    if (restorer) {
      void restorer.restore(tracker, {
        command: CommandIDs.openScript,
        args: widget => ({ ...(refs.get(widget) ?? {}) }),
        name: widget => widget.id
      });
    }

    commands.addCommand(CommandIDs.open, {
      label: trans.__('Open DX Panel'),
      caption: trans.__('Show the DX sidebar'),
      icon: args => (args.isPalette ? undefined : dxIcon),
      execute: () => openSidebar()
    });

    commands.addCommand(CommandIDs.newProject, {
      label: trans.__('New DX Project…'),
      caption: trans.__('Create a DX project'),
      icon: args => (args.isPalette ? undefined : addIcon),
      execute: async () => {
        const result = await InputDialog.getText({
          title: trans.__('New DX Project'),
          label: trans.__('Name (letters, digits, _ - .)'),
          placeholder: trans.__('e.g. demo'),
          okLabel: trans.__('Create')
        });
        const name = result.value?.trim();
        if (!result.button.accept || !name) {
          return;
        }
        try {
          const project = await model.createProject(name);
          Notification.success(trans.__('Project "%1" created.', project.name), {
            autoClose: 3000
          });
          model.showPackageList();
          openSidebar();
        } catch (e) {
          Notification.error(trans.__('Could not create project "%1": %2', name, errorMessage(e)));
        }
      }
    });

    commands.addCommand(CommandIDs.addPackage, {
      label: trans.__('Add DX Package…'),
      caption: trans.__('Add a package to the selected DX project'),
      icon: args => (args.isPalette ? undefined : addIcon),
      execute: async () => {
        openSidebar();
        if (model.projects === null) {
          await model.loadProjects().catch(() => undefined);
        }
        if (!model.project) {
          model.setTab('projects');
          Notification.warning(trans.__('Create or select a DX project first.'), {
            autoClose: 4000
          });
          return;
        }
        model.showAddPackage();
      }
    });

    commands.addCommand(CommandIDs.uploadPlatformSecrets, {
      label: trans.__('Upload Platform Secrets…'),
      caption: trans.__('Upload a secrets.json to the platform scope (Vault → Secrets)'),
      icon: args => (args.isPalette ? undefined : fileUploadIcon),
      execute: async () => {
        const file = await chooseJsonFile();
        if (!file) {
          return;
        }
        try {
          const result = await client.uploadSecrets({ scope: 'platform' }, file);
          Notification.success(trans.__('Platform secrets: %1', describeUpload(result)), {
            autoClose: 4000
          });
          model.touch();
          model.setTab('secrets');
          openSidebar();
        } catch (e) {
          Notification.error(
            trans.__('Could not upload %1: %2', file.name, errorMessage(e))
          );
        }
      }
    });

    commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh DX'),
      caption: trans.__('Reload the DX projects, packages, executions and secrets'),
      icon: args => (args.isPalette ? undefined : refreshIcon),
      execute: async () => {
        try {
          await model.refresh();
        } catch (e) {
          Notification.error(trans.__('Could not refresh DX: %1', errorMessage(e)), {
            autoClose: 5000
          });
        }
      }
    });

    commands.addCommand(CommandIDs.openScript, {
      label: args => {
        const ref = scriptRef(args);
        return ref ? trans.__('View %1', ref.script) : trans.__('View DX Script');
      },
      caption: trans.__('Open a package script read-only'),
      execute: async args => {
        const ref = scriptRef(args);
        if (!ref) {
          throw new Error(`${CommandIDs.openScript} needs project, package and script.`);
        }
        const id = scriptViewerId(ref);
        const existing = tracker.find(w => w.id === id);
        if (existing) {
          shell.activateById(existing.id);
          return existing;
        }
        const widget = createScriptViewer({ ref, client, editorServices, trans });
        refs.set(widget, ref);
        await tracker.add(widget);
        shell.add(widget, 'main');
        shell.activateById(widget.id);
        return widget;
      }
    });

    if (palette) {
      for (const command of [
        CommandIDs.open,
        CommandIDs.newProject,
        CommandIDs.addPackage,
        CommandIDs.uploadPlatformSecrets,
        CommandIDs.refresh
      ]) {
        palette.addItem({ command, category: CATEGORY });
      }
    }
  }
};

export default plugin;
