/**
 * Secrets: the names (never the values) of one scope, upload of a
 * `secrets.json` to it, and deletion with a confirmation. The Secrets tab shows
 * the selected project's scope and the platform's ("Vault → Secrets").
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Button, deleteIcon, fileUploadIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { SecretScope, UploadMode, errorMessage } from '../api';
import { describeUpload, sortSecrets } from '../state';
import { Empty, ErrorMessage, Loading, Section, TimeAgo, useAsync, useDX, useModel } from './common';

/** A stable key of a scope, for React and test ids. */
function scopeKey(scope: SecretScope): string {
  switch (scope.scope) {
    case 'platform':
      return 'platform';
    case 'project':
      return `project:${scope.project}`;
    case 'package':
      return `package:${scope.project}/${scope.package}`;
  }
}

/** The form that uploads a `secrets.json` to a scope. */
function UploadForm(props: {
  scope: SecretScope;
  onUploaded: () => void;
}): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const [file, setFile] = React.useState<File | null>(null);
  const [mode, setMode] = React.useState<UploadMode>('upsert');
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const [inputKey, setInputKey] = React.useState(0);
  const name = props.scope.scope;

  const onSubmit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!file || busy) {
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const result = await model.client.uploadSecrets(props.scope, file, mode);
      Notification.success(describeUpload(result), { autoClose: 4000 });
      setFile(null);
      setInputKey(k => k + 1);
      props.onUploaded();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="dx-Form dx-UploadForm"
      onSubmit={onSubmit}
      aria-label={trans.__('Upload secrets.json')}
      data-testid={`dx-secrets-upload-form-${name}`}
    >
      <label className="dx-Field">
        <span className="dx-Field-label">{trans.__('Upload a secrets.json')}</span>
        <input
          key={inputKey}
          type="file"
          accept=".json,application/json"
          className="dx-FileInput"
          onChange={e => {
            setError(null);
            setFile(e.target.files && e.target.files.length ? e.target.files[0] : null);
          }}
          data-testid={`dx-secrets-file-${name}`}
        />
      </label>
      <div className="dx-Form-row">
        <label className="dx-Inline">
          <span>{trans.__('Mode')}</span>
          <select
            className="jp-mod-styled dx-Select"
            value={mode}
            onChange={e => setMode(e.target.value as UploadMode)}
            title={trans.__('Merge with the stored secrets, or replace the whole set')}
            data-testid={`dx-secrets-mode-${name}`}
          >
            <option value="upsert">{trans.__('Add or update')}</option>
            <option value="replace">{trans.__('Replace all')}</option>
          </select>
        </label>
        <Button
          type="submit"
          className="jp-mod-styled jp-mod-accept dx-Button-withIcon"
          disabled={!file || busy}
          data-testid={`dx-secrets-upload-${name}`}
        >
          <fileUploadIcon.react tag="span" aria-hidden="true" />
          {busy ? trans.__('Uploading…') : trans.__('Upload')}
        </Button>
      </div>
      <ErrorMessage message={error} testId={`dx-secrets-error-${name}`} />
    </form>
  );
}

/** The secret names of one scope, optionally with upload and delete. */
export function SecretsPanel(props: {
  scope: SecretScope;
  title: React.ReactNode;
  editable?: boolean;
}): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const key = scopeKey(props.scope);
  const name = props.scope.scope;
  const secrets = useAsync(() => model.client.listSecrets(props.scope), [key, model.revision]);
  const list = secrets.data ? sortSecrets(secrets.data.secrets) : undefined;

  const onDelete = async (secret: string) => {
    const result = await showDialog({
      title: trans.__('Delete secret'),
      body: trans.__(
        'Delete the %1 secret "%2"? Scripts that read it will get the value of a wider scope, or nothing.',
        name,
        secret
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
      await model.client.deleteSecret(props.scope, secret);
      Notification.success(trans.__('Secret "%1" deleted.', secret), { autoClose: 3000 });
      secrets.reload();
    } catch (e) {
      Notification.error(trans.__('Could not delete secret "%1": %2', secret, errorMessage(e)));
    }
  };

  return (
    <Section title={props.title} testId={`dx-secrets-${name}`} className="dx-SecretsPanel">
      {props.editable && (
        <UploadForm scope={props.scope} onUploaded={secrets.reload} />
      )}
      {secrets.loading && list === undefined && <Loading />}
      <ErrorMessage message={secrets.error} onRetry={secrets.reload} />
      {list !== undefined && list.length === 0 && (
        <Empty testId={`dx-secrets-empty-${name}`}>{trans.__('No secrets in this scope.')}</Empty>
      )}
      {list !== undefined && list.length > 0 && (
        <table className="dx-Table" data-testid={`dx-secrets-table-${name}`}>
          <thead>
            <tr>
              <th scope="col">{trans.__('Name')}</th>
              <th scope="col" className="dx-Col-optional">
                {trans.__('Version')}
              </th>
              <th scope="col">{trans.__('Updated')}</th>
              {props.editable && (
                <th scope="col">
                  <span className="dx-VisuallyHidden">{trans.__('Actions')}</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {list.map(s => (
              <tr key={s.name} data-testid="dx-secret-row" data-name={s.name} data-scope={name}>
                <td className="dx-Mono" data-testid="dx-secret-name" title={s.name}>
                  {s.name}
                </td>
                <td className="dx-Col-optional">{s.version}</td>
                <td>
                  <TimeAgo value={s.updated_at} style="narrow" />
                </td>
                {props.editable && (
                  <td className="dx-Table-actions">
                    <Button
                      type="button"
                      minimal
                      small
                      className="dx-IconButton"
                      onClick={() => void onDelete(s.name)}
                      aria-label={trans.__('Delete secret %1', s.name)}
                      title={trans.__('Delete secret')}
                      data-testid="dx-secret-delete"
                    >
                      <deleteIcon.react tag="span" aria-hidden="true" />
                    </Button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

/** The Secrets tab: the selected project's secrets and the platform's vault. */
export function SecretsView(): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const project = model.project;
  return (
    <div className="dx-View" data-testid="dx-secrets-view">
      <p className="dx-Hint">
        {trans.__(
          'Scripts read a secret from the package scope first, then the project, then the platform. Values are encrypted and never shown.'
        )}
      </p>
      {project ? (
        <SecretsPanel
          key={project}
          scope={{ scope: 'project', project }}
          title={trans.__('Project secrets: %1', project)}
          editable
        />
      ) : (
        <Empty testId="dx-no-project">
          {trans.__('Select a project to manage its secrets.')}
        </Empty>
      )}
      <SecretsPanel
        scope={{ scope: 'platform' }}
        title={trans.__('Vault → Secrets (platform)')}
        editable
      />
    </div>
  );
}
