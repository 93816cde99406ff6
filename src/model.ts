/**
 * The DX panel's model: where the user is (tab, project, package, execution),
 * the shared list of projects, and a revision counter that views watch to
 * reload their data after a refresh or a change made elsewhere.
 */
import { ISignal, Signal } from '@lumino/signaling';
import { DXClient, IProject, errorMessage } from './api';
import { DXTab } from './state';

/** What the Packages tab shows. */
export type PackagesView =
  | { kind: 'list' }
  | { kind: 'add' }
  | { kind: 'details'; package: string };

export class DXModel {
  constructor(client: DXClient) {
    this.client = client;
  }

  /** The REST client. */
  readonly client: DXClient;

  /** Emitted whenever anything the views show changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The active tab. */
  get tab(): DXTab {
    return this._tab;
  }

  /** The selected project's name, or `null`. */
  get project(): string | null {
    return this._project;
  }

  /** What the Packages tab shows. */
  get packagesView(): PackagesView {
    return this._packagesView;
  }

  /** The package whose executions the Executions tab lists. */
  get executionsPackage(): string | null {
    return this._executionsPackage;
  }

  /** The execution whose details are open. */
  get execution(): string | null {
    return this._execution;
  }

  /** Increases on each refresh: views reload when it changes. */
  get revision(): number {
    return this._revision;
  }

  /** The projects, `null` until loaded. */
  get projects(): IProject[] | null {
    return this._projects;
  }

  /** Whether the projects are loading. */
  get projectsLoading(): boolean {
    return this._projectsLoading;
  }

  /** Why the projects could not be loaded, or `null`. */
  get projectsError(): string | null {
    return this._projectsError;
  }

  setTab(tab: DXTab): void {
    if (tab !== this._tab) {
      this._tab = tab;
      this._changed.emit();
    }
  }

  /** Select a project; packages, executions and secrets views follow it. */
  selectProject(project: string | null): void {
    if (project === this._project) {
      return;
    }
    this._project = project;
    this._packagesView = { kind: 'list' };
    this._executionsPackage = null;
    this._execution = null;
    this._changed.emit();
  }

  showPackageList(): void {
    this._tab = 'packages';
    this._packagesView = { kind: 'list' };
    this._changed.emit();
  }

  showAddPackage(): void {
    this._tab = 'packages';
    this._packagesView = { kind: 'add' };
    this._changed.emit();
  }

  showPackage(pkg: string): void {
    this._tab = 'packages';
    this._packagesView = { kind: 'details', package: pkg };
    this._changed.emit();
  }

  /**
   * Show the executions of a package, with one execution's details open
   * (`null` for none).
   */
  showExecutions(pkg: string | null, execution: string | null = null): void {
    this._tab = 'executions';
    this._executionsPackage = pkg;
    this._execution = execution;
    this._changed.emit();
  }

  /** Open or close the details of an execution of the current package. */
  selectExecution(execution: string | null): void {
    if (execution !== this._execution) {
      this._execution = execution;
      this._changed.emit();
    }
  }

  /** Ask every view to reload its data, and reload the projects. */
  async refresh(): Promise<void> {
    this._revision++;
    this._changed.emit();
    await this.loadProjects();
  }

  /**
   * Load the projects. The selection is kept when the project still exists,
   * else the first project is selected.
   */
  async loadProjects(): Promise<IProject[]> {
    this._projectsLoading = true;
    this._changed.emit();
    try {
      const projects = await this.client.listProjects();
      projects.sort((a, b) => a.name.localeCompare(b.name));
      this._projects = projects;
      this._projectsError = null;
      const names = projects.map(p => p.name);
      if (this._project === null || !names.includes(this._project)) {
        this._project = null;
        this.selectProject(names.length ? names[0] : null);
      }
      return projects;
    } catch (error) {
      this._projectsError = errorMessage(error);
      throw error;
    } finally {
      this._projectsLoading = false;
      this._changed.emit();
    }
  }

  /** Create a project, reload the list and select it. */
  async createProject(name: string, description = ''): Promise<IProject> {
    const project = await this.client.createProject(name, description);
    await this.loadProjects().catch(() => undefined);
    this.selectProject(project.name);
    return project;
  }

  /** Delete a project and reload the list. */
  async deleteProject(name: string): Promise<void> {
    await this.client.deleteProject(name);
    if (this._project === name) {
      this.selectProject(null);
    }
    this._revision++;
    await this.loadProjects().catch(() => undefined);
  }

  /** Tell the views that data changed (e.g. after an upload). */
  touch(): void {
    this._revision++;
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _tab: DXTab = 'projects';
  private _project: string | null = null;
  private _packagesView: PackagesView = { kind: 'list' };
  private _executionsPackage: string | null = null;
  private _execution: string | null = null;
  private _revision = 0;
  private _projects: IProject[] | null = null;
  private _projectsLoading = false;
  private _projectsError: string | null = null;
}
