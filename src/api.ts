/**
 * A typed client for the DX REST API (`<base_url>dx/api`, see docs/rest-api.md).
 *
 * Every request goes through `ServerConnection.makeRequest`, which adds the
 * Jupyter token and the XSRF header. Errors are turned into `DXApiError`,
 * carrying the HTTP status and the server's `{error, message}` body.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The path of the API below the server's base URL. */
export const API_NAMESPACE = 'dx/api';

/** Status of an execution. */
export type ExecutionStatus =
  | 'pending'
  | 'in_progress'
  | 'completed'
  | 'failed'
  | 'cancelled';

/** Status of one step of an execution. */
export type StepStatus =
  | 'pending'
  | 'in_progress'
  | 'completed'
  | 'failed'
  | 'unprocessed';

/** A DX project. */
export interface IProject {
  id: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
}

/** A script attached to a package (metadata only). */
export interface IScript {
  name: string;
  order: number;
  size: number;
  updated_at: string;
}

/** A DX package (the platform also says "service"). */
export interface IPackage {
  id: string;
  name: string;
  project: string;
  description: string;
  scripts: IScript[];
  config: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

/** The answer to a package creation: a package, plus the stored secret names. */
export interface ICreatedPackage extends IPackage {
  secrets?: { stored: string[] };
}

/** The scope a secret belongs to. */
export type SecretScopeName = 'platform' | 'project' | 'package';

/** Metadata of a secret: never its value. */
export interface ISecretMeta {
  name: string;
  scope: SecretScopeName;
  version: number;
  created_at: string;
  updated_at: string;
}

/** A list of secret names of one scope. */
export interface ISecretList {
  scope: SecretScopeName;
  secrets: ISecretMeta[];
}

/** What an upload of a `secrets.json` did. */
export interface ISecretsUploadResult {
  scope: SecretScopeName;
  stored: string[];
  created: string[];
  updated: string[];
  deleted: string[];
}

/** One step of an execution. */
export interface IStep {
  number: number;
  script: string;
  status: StepStatus;
  exit_code: number | null;
  started_at: string | null;
  finished_at: string | null;
  duration: number | null;
}

/** The (redacted) result of one step. */
export interface IStepResult {
  number: number;
  script: string;
  status: StepStatus;
  exit_code: number | null;
  output: string;
  truncated: boolean;
  redacted: boolean;
}

/** A run of a package. */
export interface IExecution {
  id: string;
  project: string;
  package: string;
  package_id: string;
  trigger: string;
  status: ExecutionStatus;
  status_message: string;
  params: Record<string, unknown>;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration: number | null;
  steps: IStep[];
}

/** A page of executions, newest first. */
export interface IExecutionPage {
  executions: IExecution[];
  total: number;
  offset: number;
  limit: number;
}

/** Where a set of secrets lives. */
export type SecretScope =
  | { scope: 'platform' }
  | { scope: 'project'; project: string }
  | { scope: 'package'; project: string; package: string };

/** How an uploaded `secrets.json` is merged with the stored set. */
export type UploadMode = 'upsert' | 'replace';

/** What the package creation form sends. */
export interface INewPackage {
  name: string;
  description?: string;
  /** The scripts, in run order. */
  scripts: Blob[];
  /** An optional `secrets.json`. */
  secrets?: Blob | null;
  /** An optional `config.json`. */
  config?: Blob | null;
}

/**
 * An error answered by the DX API, or a failure to reach it.
 */
export class DXApiError extends Error {
  /**
   * @param status - the HTTP status, 0 when the server could not be reached.
   * @param kind - the `error` field of the body (e.g. `"not_found"`), or a
   *   generic kind when the body had none.
   * @param message - the `message` field of the body, or a description.
   */
  constructor(
    readonly status: number,
    readonly kind: string,
    message: string
  ) {
    super(message);
    this.name = 'DXApiError';
  }

  /** Whether the error is a network failure rather than an HTTP answer. */
  get isNetworkError(): boolean {
    return this.status === 0;
  }

  /** Build an error from a non-successful response. */
  static async fromResponse(response: Response): Promise<DXApiError> {
    let body: unknown = undefined;
    let text = '';
    try {
      text = await response.text();
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    let kind = `http_${response.status}`;
    let message = '';
    if (body && typeof body === 'object' && !Array.isArray(body)) {
      const data = body as Record<string, unknown>;
      if (typeof data.error === 'string' && data.error) {
        kind = data.error;
      }
      // The DX API answers `message`; Jupyter's own errors use `message` or `reason`.
      for (const key of ['message', 'reason']) {
        const value = data[key];
        if (typeof value === 'string' && value) {
          message = value;
          break;
        }
      }
    }
    if (!message) {
      const reason = response.statusText || 'Error';
      message = `${response.status} ${reason}`;
    }
    return new DXApiError(response.status, kind, message);
  }
}

/** Turn any thrown value into a message fit for the user. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}

/** Encode each segment and join them as a path. */
function path(...segments: string[]): string {
  return segments.map(s => encodeURIComponent(s)).join('/');
}

/** The path of the secrets collection of a scope, relative to the API root. */
export function secretsPath(scope: SecretScope): string {
  switch (scope.scope) {
    case 'platform':
      return 'secrets/platform';
    case 'project':
      return `${path('projects', scope.project)}/secrets`;
    case 'package':
      return `${path('projects', scope.project, 'packages', scope.package)}/secrets`;
  }
}

/**
 * The DX REST client.
 */
export class DXClient {
  constructor(options: DXClient.IOptions = {}) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
  }

  /** The connection settings (base URL, token, fetch). */
  readonly serverSettings: ServerConnection.ISettings;

  /** The absolute URL of an API path, with an optional query. */
  url(relative: string, query?: Record<string, string | number | undefined>): string {
    const url = URLExt.join(this.serverSettings.baseUrl, API_NAMESPACE, relative);
    const params: Record<string, string> = {};
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== '') {
        params[key] = String(value);
      }
    }
    return Object.keys(params).length
      ? url + URLExt.objectToQueryString(params)
      : url;
  }

  /**
   * Make a request and return the raw response; non-2xx answers throw a
   * `DXApiError`.
   */
  async fetch(
    relative: string,
    init: RequestInit = {},
    query?: Record<string, string | number | undefined>
  ): Promise<Response> {
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        this.url(relative, query),
        init,
        this.serverSettings
      );
    } catch (error) {
      throw new DXApiError(
        0,
        'network',
        `Cannot reach the Jupyter server: ${errorMessage(error)}`
      );
    }
    if (!response.ok) {
      throw await DXApiError.fromResponse(response);
    }
    return response;
  }

  /** Make a request and decode its JSON answer (`undefined` for 204). */
  async request<T>(
    relative: string,
    init: RequestInit = {},
    query?: Record<string, string | number | undefined>
  ): Promise<T> {
    const response = await this.fetch(relative, init, query);
    if (response.status === 204) {
      return undefined as T;
    }
    const text = await response.text();
    if (!text) {
      return undefined as T;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new DXApiError(
        response.status,
        'invalid_response',
        `The server answered something that is not JSON (${response.status}).`
      );
    }
  }

  private _json(method: string, body?: unknown): RequestInit {
    return {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: { 'Content-Type': 'application/json' }
    };
  }

  // Projects

  async listProjects(): Promise<IProject[]> {
    const data = await this.request<{ projects: IProject[] }>('projects');
    return data.projects;
  }

  createProject(name: string, description = ''): Promise<IProject> {
    return this.request<IProject>(
      'projects',
      this._json('POST', { name, description })
    );
  }

  getProject(project: string): Promise<IProject> {
    return this.request<IProject>(path('projects', project));
  }

  async deleteProject(project: string): Promise<void> {
    await this.request<void>(path('projects', project), { method: 'DELETE' });
  }

  // Packages

  async listPackages(project: string, q?: string): Promise<IPackage[]> {
    const data = await this.request<{ packages: IPackage[] }>(
      `${path('projects', project)}/packages`,
      {},
      { q: q?.trim() || undefined }
    );
    return data.packages;
  }

  /** Create a package with a multipart upload (scripts, secrets.json, config.json). */
  createPackage(project: string, pkg: INewPackage): Promise<ICreatedPackage> {
    const form = new FormData();
    form.append('name', pkg.name);
    form.append('description', pkg.description ?? '');
    for (const script of pkg.scripts) {
      form.append('scripts', script, fileName(script, 'script.py'));
    }
    if (pkg.secrets) {
      form.append('secrets', pkg.secrets, fileName(pkg.secrets, 'secrets.json'));
    }
    if (pkg.config) {
      form.append('config', pkg.config, fileName(pkg.config, 'config.json'));
    }
    // No Content-Type header: the browser sets the multipart boundary.
    return this.request<ICreatedPackage>(
      `${path('projects', project)}/packages`,
      { method: 'POST', body: form }
    );
  }

  getPackage(project: string, pkg: string): Promise<IPackage> {
    return this.request<IPackage>(path('projects', project, 'packages', pkg));
  }

  async deletePackage(project: string, pkg: string): Promise<void> {
    await this.request<void>(path('projects', project, 'packages', pkg), {
      method: 'DELETE'
    });
  }

  /** The source of a script of a package. */
  async getScript(project: string, pkg: string, script: string): Promise<string> {
    const response = await this.fetch(
      path('projects', project, 'packages', pkg, 'scripts', script)
    );
    return response.text();
  }

  /** The source of a script as a Blob, for a download. */
  async downloadScript(project: string, pkg: string, script: string): Promise<Blob> {
    const response = await this.fetch(
      path('projects', project, 'packages', pkg, 'scripts', script)
    );
    return response.blob();
  }

  // Secrets

  listSecrets(scope: SecretScope): Promise<ISecretList> {
    return this.request<ISecretList>(secretsPath(scope));
  }

  /** Upload a `secrets.json` file (or its text) to a scope. */
  uploadSecrets(
    scope: SecretScope,
    file: Blob | string,
    mode: UploadMode = 'upsert'
  ): Promise<ISecretsUploadResult> {
    return this.request<ISecretsUploadResult>(
      secretsPath(scope),
      {
        method: 'PUT',
        body: file,
        headers: { 'Content-Type': 'application/json' }
      },
      { mode: mode === 'upsert' ? undefined : mode }
    );
  }

  async deleteSecret(scope: SecretScope, name: string): Promise<void> {
    await this.request<void>(`${secretsPath(scope)}/${path(name)}`, {
      method: 'DELETE'
    });
  }

  // Executions

  /** Start a manual execution of a package. */
  runPackage(
    project: string,
    pkg: string,
    params?: Record<string, unknown>
  ): Promise<IExecution> {
    return this.request<IExecution>(
      `${path('projects', project, 'packages', pkg)}/executions`,
      this._json('POST', params ? { params } : {})
    );
  }

  listExecutions(
    project: string,
    pkg: string,
    page: { offset?: number; limit?: number } = {}
  ): Promise<IExecutionPage> {
    return this.request<IExecutionPage>(
      `${path('projects', project, 'packages', pkg)}/executions`,
      {},
      { offset: page.offset, limit: page.limit }
    );
  }

  getExecution(id: string): Promise<IExecution> {
    return this.request<IExecution>(path('executions', id));
  }

  async listSteps(id: string): Promise<IStep[]> {
    const data = await this.request<{ steps: IStep[] }>(
      `${path('executions', id)}/steps`
    );
    return data.steps;
  }

  getStepResult(id: string, step: number): Promise<IStepResult> {
    return this.request<IStepResult>(
      `${path('executions', id)}/steps/${step}/result`
    );
  }

  cancelExecution(id: string): Promise<IExecution> {
    return this.request<IExecution>(
      `${path('executions', id)}/cancel`,
      this._json('POST')
    );
  }
}

export namespace DXClient {
  export interface IOptions {
    /** Connection settings; the page's settings by default. */
    serverSettings?: ServerConnection.ISettings;
  }
}

/** The file name of a Blob, when it is a File. */
function fileName(blob: Blob, fallback: string): string {
  const name = (blob as File).name;
  return typeof name === 'string' && name ? name : fallback;
}
