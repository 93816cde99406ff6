/**
 * The Projects tab: create a project, list, select and delete projects.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Button, deleteIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { IProject, errorMessage } from '../api';
import { Empty, ErrorMessage, Loading, Section, TimeAgo, useDX, useModel } from './common';

/** The form that creates a project. */
export function NewProjectForm(): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const [name, setName] = React.useState('');
  const [description, setDescription] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);

  const onSubmit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (busy) {
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const project = await model.createProject(name.trim(), description.trim());
      setName('');
      setDescription('');
      Notification.success(trans.__('Project "%1" created.', project.name), {
        autoClose: 3000
      });
      model.showPackageList();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="dx-Form" onSubmit={onSubmit} data-testid="dx-project-form" aria-label={trans.__('New project')}>
      <label className="dx-Field">
        <span className="dx-Field-label">{trans.__('Name')}</span>
        <input
          className="jp-mod-styled dx-Input"
          value={name}
          onChange={e => setName(e.target.value)}
          required
          maxLength={128}
          placeholder={trans.__('e.g. demo')}
          data-testid="dx-project-name"
        />
      </label>
      <label className="dx-Field">
        <span className="dx-Field-label">{trans.__('Description')}</span>
        <input
          className="jp-mod-styled dx-Input"
          value={description}
          onChange={e => setDescription(e.target.value)}
          data-testid="dx-project-description"
        />
      </label>
      <ErrorMessage message={error} testId="dx-project-error" />
      <div className="dx-Form-actions">
        <Button
          type="submit"
          className="jp-mod-styled jp-mod-accept"
          disabled={busy || !name.trim()}
          data-testid="dx-project-create"
        >
          {busy ? trans.__('Creating…') : trans.__('Create project')}
        </Button>
      </div>
    </form>
  );
}

/** One project in the list. */
function ProjectItem(props: { project: IProject; selected: boolean }): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const { project, selected } = props;

  const onDelete = async () => {
    const result = await showDialog({
      title: trans.__('Delete project'),
      body: trans.__(
        'Delete the project "%1" with all its packages, secrets and executions? This cannot be undone.',
        project.name
      ),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: trans.__('Delete') })
      ]
    });
    if (!result.button.accept) {
      return;
    }
    try {
      await model.deleteProject(project.name);
      Notification.success(trans.__('Project "%1" deleted.', project.name), {
        autoClose: 3000
      });
    } catch (e) {
      Notification.error(
        trans.__('Could not delete project "%1": %2', project.name, errorMessage(e))
      );
    }
  };

  return (
    <li
      className={`dx-ListItem ${selected ? 'dx-mod-selected' : ''}`}
      data-testid="dx-project-item"
      data-name={project.name}
      aria-current={selected ? 'true' : undefined}
    >
      <button
        type="button"
        className="dx-ListItem-main"
        onClick={() => {
          model.selectProject(project.name);
          model.showPackageList();
        }}
        title={trans.__('Open the packages of %1', project.name)}
        data-testid="dx-project-open"
      >
        <span className="dx-ListItem-title">{project.name}</span>
        {project.description && (
          <span className="dx-ListItem-subtitle">{project.description}</span>
        )}
        <span className="dx-ListItem-meta">
          {trans.__('Created')} <TimeAgo value={project.created_at} />
        </span>
      </button>
      <Button
        minimal
        small
        className="dx-IconButton"
        onClick={onDelete}
        aria-label={trans.__('Delete project %1', project.name)}
        title={trans.__('Delete project')}
        data-testid="dx-project-delete"
      >
        <deleteIcon.react tag="span" elementSize="normal" />
      </Button>
    </li>
  );
}

/** The Projects tab. */
export function ProjectsView(): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const projects = model.projects;

  return (
    <div className="dx-View" data-testid="dx-projects-view">
      <Section title={trans.__('New project')}>
        <NewProjectForm />
      </Section>
      <Section title={trans.__('Projects')}>
        {model.projectsLoading && projects === null && <Loading />}
        <ErrorMessage
          message={model.projectsError}
          onRetry={() => void model.loadProjects().catch(() => undefined)}
        />
        {projects !== null && projects.length === 0 && (
          <Empty testId="dx-projects-empty">
            {trans.__('No projects yet. Create one above.')}
          </Empty>
        )}
        {projects !== null && projects.length > 0 && (
          <ul className="dx-List" data-testid="dx-project-list" aria-label={trans.__('Projects')}>
            {projects.map(p => (
              <ProjectItem key={p.id} project={p} selected={p.name === model.project} />
            ))}
          </ul>
        )}
      </Section>
    </div>
  );
}
