/**
 * A package's details: its scripts (view, download), config, the secret names
 * it can read per scope, and the Run button.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import {
  Button,
  caretLeftIcon,
  deleteIcon,
  downloadIcon,
  runIcon,
  searchIcon
} from '@jupyterlab/ui-components';
import * as React from 'react';
import { IPackage, IScript, errorMessage } from '../api';
import { CommandIDs } from '../commands';
import { saveBlob } from '../download';
import { ErrorMessage, Loading, Section, TimeAgo, useAsync, useDX, useModel } from './common';
import { SecretsPanel } from './SecretsView';

/** A size in bytes as text. */
function formatSize(bytes: number): string {
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1)} KB`;
  }
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The table of a package's scripts. */
function ScriptsTable(props: { pkg: IPackage }): JSX.Element {
  const { trans, commands } = useDX();
  const model = useModel();
  const { pkg } = props;
  const scripts = [...(pkg.scripts ?? [])].sort((a, b) => a.order - b.order);

  const onDownload = async (script: IScript) => {
    try {
      const blob = await model.client.downloadScript(pkg.project, pkg.name, script.name);
      saveBlob(blob, script.name);
    } catch (e) {
      Notification.error(trans.__('Could not download %1: %2', script.name, errorMessage(e)));
    }
  };

  if (!scripts.length) {
    return <p className="dx-Empty">{trans.__('This package has no scripts.')}</p>;
  }
  return (
    <table className="dx-Table" data-testid="dx-script-table">
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">{trans.__('Script')}</th>
          <th scope="col">{trans.__('Size')}</th>
          <th scope="col">
            <span className="dx-VisuallyHidden">{trans.__('Actions')}</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {scripts.map(script => (
          <tr key={script.name} data-testid="dx-script-row" data-name={script.name}>
            <td>{script.order}</td>
            <td className="dx-Mono" title={script.updated_at}>
              {script.name}
            </td>
            <td className="dx-Nowrap">{formatSize(script.size)}</td>
            <td className="dx-Table-actions">
              <Button
                type="button"
                minimal
                small
                className="dx-IconButton"
                onClick={() =>
                  void commands.execute(CommandIDs.openScript, {
                    project: pkg.project,
                    package: pkg.name,
                    script: script.name
                  })
                }
                aria-label={trans.__('View %1', script.name)}
                title={trans.__('View (read-only)')}
                data-testid="dx-script-view"
              >
                <searchIcon.react tag="span" aria-hidden="true" />
              </Button>
              <Button
                type="button"
                minimal
                small
                className="dx-IconButton"
                onClick={() => void onDownload(script)}
                aria-label={trans.__('Download %1', script.name)}
                title={trans.__('Download')}
                data-testid="dx-script-download"
              >
                <downloadIcon.react tag="span" aria-hidden="true" />
              </Button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function PackageDetails(props: { project: string; pkg: string }): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const pkg = useAsync(
    () => model.client.getPackage(props.project, props.pkg),
    [props.project, props.pkg, model.revision]
  );
  const [running, setRunning] = React.useState(false);
  const data = pkg.data;

  const onRun = async () => {
    setRunning(true);
    try {
      const execution = await model.client.runPackage(props.project, props.pkg);
      Notification.info(trans.__('Execution of "%1" started.', props.pkg), { autoClose: 3000 });
      model.showExecutions(props.pkg, execution.id);
    } catch (e) {
      Notification.error(trans.__('Could not run "%1": %2', props.pkg, errorMessage(e)));
    } finally {
      setRunning(false);
    }
  };

  const onDelete = async () => {
    const result = await showDialog({
      title: trans.__('Delete package'),
      body: trans.__(
        'Delete the package "%1" with its scripts, secrets and executions? This cannot be undone.',
        props.pkg
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
      await model.client.deletePackage(props.project, props.pkg);
      Notification.success(trans.__('Package "%1" deleted.', props.pkg), { autoClose: 3000 });
      model.touch();
      model.showPackageList();
    } catch (e) {
      Notification.error(trans.__('Could not delete "%1": %2', props.pkg, errorMessage(e)));
    }
  };

  const configEntries = data ? Object.entries(data.config ?? {}) : [];

  return (
    <div className="dx-View" data-testid="dx-package-details" data-name={props.pkg}>
      <div className="dx-Toolbar">
        <Button
          type="button"
          minimal
          className="dx-Button-withIcon"
          onClick={() => model.showPackageList()}
          data-testid="dx-package-back"
        >
          <caretLeftIcon.react tag="span" aria-hidden="true" />
          {trans.__('Packages')}
        </Button>
        <span className="dx-Toolbar-spacer" />
        <Button
          type="button"
          className="jp-mod-styled jp-mod-accept dx-Button-withIcon"
          onClick={() => void onRun()}
          disabled={running || !data}
          data-testid="dx-package-run"
          title={trans.__('Run the package now')}
        >
          <runIcon.react tag="span" aria-hidden="true" />
          {running ? trans.__('Starting…') : trans.__('Run')}
        </Button>
      </div>
      <h2 className="dx-Title" data-testid="dx-package-title">
        {props.pkg}
      </h2>
      {pkg.loading && !data && <Loading />}
      <ErrorMessage message={pkg.error} onRetry={pkg.reload} />
      {data && (
        <>
          {data.description && <p className="dx-Description">{data.description}</p>}
          <p className="dx-Meta">
            {trans.__('Project')} <strong>{data.project}</strong> · {trans.__('updated')}{' '}
            <TimeAgo value={data.updated_at} />
          </p>
          <Section
            title={trans.__('Scripts')}
            actions={
              <Button
                type="button"
                minimal
                small
                onClick={() => model.showExecutions(props.pkg)}
                data-testid="dx-package-executions"
              >
                {trans.__('Executions')}
              </Button>
            }
          >
            <ScriptsTable pkg={data} />
          </Section>
          <Section title={trans.__('Config')}>
            {configEntries.length ? (
              <pre className="dx-Code" data-testid="dx-package-config">
                {JSON.stringify(data.config, null, 2)}
              </pre>
            ) : (
              <p className="dx-Empty">{trans.__('No config.')}</p>
            )}
          </Section>
          <SecretsPanel
            scope={{ scope: 'package', project: props.project, package: props.pkg }}
            title={trans.__('Package secrets')}
            editable
          />
          <SecretsPanel
            scope={{ scope: 'project', project: props.project }}
            title={trans.__('Project secrets (inherited)')}
          />
          <SecretsPanel
            scope={{ scope: 'platform' }}
            title={trans.__('Platform secrets (inherited)')}
          />
          <div className="dx-DangerZone">
            <Button
              type="button"
              className="jp-mod-styled jp-mod-warn dx-Button-withIcon"
              onClick={() => void onDelete()}
              data-testid="dx-package-delete"
            >
              <deleteIcon.react tag="span" aria-hidden="true" />
              {trans.__('Delete package')}
            </Button>
          </div>
        </>
      )}
    </div>
  );
}
