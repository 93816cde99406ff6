/**
 * The DX sidebar: a header with the project picker and refresh, the tab bar
 * (Projects, Packages, Executions, Secrets) and the active tab's view.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, ToolbarButtonComponent, refreshIcon } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import type { Message } from '@lumino/messaging';
import * as React from 'react';
import { CommandIDs } from '../commands';
import { DXModel } from '../model';
import { DXTab, TABS } from '../state';
import { DXContext, IDXContext, useDX, useModel } from './common';
import { ExecutionsView } from './ExecutionsView';
import { PackagesView } from './PackagesView';
import { ProjectsView } from './ProjectsView';
import { SecretsView } from './SecretsView';

function tabLabel(tab: DXTab, trans: TranslationBundle): string {
  switch (tab) {
    case 'projects':
      return trans.__('Projects');
    case 'packages':
      return trans.__('Packages');
    case 'executions':
      return trans.__('Executions');
    case 'secrets':
      return trans.__('Secrets');
  }
}

/** The project picker shared by the Packages, Executions and Secrets tabs. */
function ProjectPicker(): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const projects = model.projects ?? [];
  return (
    <label className="dx-ProjectPicker">
      <span className="dx-ProjectPicker-label">{trans.__('Project')}</span>
      <select
        className="jp-mod-styled dx-Select"
        value={model.project ?? ''}
        onChange={e => model.selectProject(e.target.value || null)}
        disabled={!projects.length}
        data-testid="dx-project-select"
      >
        {!projects.length && <option value="">{trans.__('No projects')}</option>}
        {projects.map(p => (
          <option key={p.id} value={p.name}>
            {p.name}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The tab bar, keyboard operable as an ARIA tablist. */
function TabBar(props: { idPrefix: string }): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const refs = React.useRef<Record<string, HTMLButtonElement | null>>({});

  const onKeyDown = (event: React.KeyboardEvent) => {
    const index = TABS.indexOf(model.tab);
    let next = -1;
    if (event.key === 'ArrowRight') {
      next = (index + 1) % TABS.length;
    } else if (event.key === 'ArrowLeft') {
      next = (index + TABS.length - 1) % TABS.length;
    } else if (event.key === 'Home') {
      next = 0;
    } else if (event.key === 'End') {
      next = TABS.length - 1;
    }
    if (next >= 0) {
      event.preventDefault();
      model.setTab(TABS[next]);
      refs.current[TABS[next]]?.focus();
    }
  };

  return (
    <div className="dx-Tabs" role="tablist" aria-label={trans.__('DX sections')} onKeyDown={onKeyDown}>
      {TABS.map(tab => {
        const selected = tab === model.tab;
        return (
          <button
            key={tab}
            ref={el => {
              refs.current[tab] = el;
            }}
            type="button"
            role="tab"
            id={`${props.idPrefix}-tab-${tab}`}
            aria-selected={selected}
            aria-controls={`${props.idPrefix}-panel`}
            tabIndex={selected ? 0 : -1}
            className={`dx-Tab ${selected ? 'dx-mod-active' : ''}`}
            onClick={() => {
              if (tab === 'packages' && model.tab === 'packages') {
                model.showPackageList();
              } else {
                model.setTab(tab);
              }
            }}
            data-testid={`dx-tab-${tab}`}
          >
            {tabLabel(tab, trans)}
          </button>
        );
      })}
    </div>
  );
}

function ActiveView(): JSX.Element {
  const model = useModel();
  switch (model.tab) {
    case 'projects':
      return <ProjectsView />;
    case 'packages':
      return <PackagesView />;
    case 'executions':
      return <ExecutionsView />;
    case 'secrets':
      return <SecretsView />;
  }
}

function Sidebar(): JSX.Element {
  const { trans, commands } = useDX();
  const model = useModel();
  const idPrefix = React.useId().replace(/:/g, '');
  return (
    <div className="dx-Sidebar" data-testid="dx-sidebar">
      <header className="dx-Sidebar-header">
        <h2 className="dx-Sidebar-title">{trans.__('DX')}</h2>
        <span className="dx-Toolbar-spacer" />
        <ToolbarButtonComponent
          icon={refreshIcon}
          onClick={() => void commands.execute(CommandIDs.refresh)}
          tooltip={trans.__('Refresh')}
          enabled={!model.projectsLoading}
          dataset={{ testid: 'dx-refresh' }}
        />
      </header>
      <ProjectPicker />
      <TabBar idPrefix={idPrefix} />
      <div
        className="dx-Sidebar-body"
        role="tabpanel"
        id={`${idPrefix}-panel`}
        aria-labelledby={`${idPrefix}-tab-${model.tab}`}
        data-tab={model.tab}
      >
        <ActiveView />
      </div>
    </div>
  );
}

/**
 * The Lumino widget that hosts the sidebar in JupyterLab's left area.
 */
export class DXSidebarWidget extends ReactWidget {
  constructor(options: { model: DXModel; trans: TranslationBundle; commands: CommandRegistry }) {
    super();
    this._context = { ...options };
    this.addClass('dx-SidebarWidget');
  }

  get model(): DXModel {
    return this._context.model;
  }

  /** Load the projects the first time the sidebar is shown. */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    const model = this._context.model;
    if (model.projects === null && !model.projectsLoading) {
      // Failures are shown in the sidebar.
      void model.loadProjects().catch(() => undefined);
    }
  }

  render(): JSX.Element {
    return (
      <DXContext.Provider value={this._context}>
        <Sidebar />
      </DXContext.Provider>
    );
  }

  private _context: IDXContext;
}
