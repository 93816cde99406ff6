/**
 * The "Add package" form: name, description, scripts (with "Add more
 * scripts"), an optional secrets.json and config.json. Server errors are shown
 * inline.
 */
import { Notification } from '@jupyterlab/apputils';
import { Button, addIcon, closeIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { errorMessage } from '../api';
import { partitionPackageFiles } from '../state';
import { ErrorMessage, Section, useDX, useModel } from './common';

/** A script slot of the form: a key for React and the chosen file. */
interface IScriptSlot {
  key: number;
  file: File | null;
}

/** The first file chosen in an `<input type="file">`, or `null`. */
function firstFile(event: React.ChangeEvent<HTMLInputElement>): File | null {
  const files = event.target.files;
  return files && files.length ? files[0] : null;
}

export function PackageForm(props: { project: string }): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const nextKey = React.useRef(1);
  const [name, setName] = React.useState('');
  const [description, setDescription] = React.useState('');
  const [slots, setSlots] = React.useState<IScriptSlot[]>([{ key: 0, file: null }]);
  const [secrets, setSecrets] = React.useState<File | null>(null);
  const [config, setConfig] = React.useState<File | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);

  const addSlot = () => {
    setSlots(s => [...s, { key: nextKey.current++, file: null }]);
  };
  const removeSlot = (key: number) => {
    setSlots(s => (s.length > 1 ? s.filter(slot => slot.key !== key) : [{ key: nextKey.current++, file: null }]));
  };
  const setSlotFile = (key: number, file: File | null) => {
    setSlots(s => s.map(slot => (slot.key === key ? { ...slot, file } : slot)));
  };

  const onSubmit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (busy) {
      return;
    }
    setError(null);
    const files = partitionPackageFiles({
      scripts: slots.map(s => s.file),
      secrets,
      config
    });
    if (!files.ok) {
      setError(files.message);
      return;
    }
    setBusy(true);
    try {
      const created = await model.client.createPackage(props.project, {
        name: name.trim(),
        description: description.trim(),
        scripts: files.scripts,
        secrets: files.secrets,
        config: files.config
      });
      const stored = created.secrets?.stored?.length ?? 0;
      Notification.success(
        stored
          ? trans._n(
              'Package "%2" created with %1 secret.',
              'Package "%2" created with %1 secrets.',
              stored,
              created.name
            )
          : trans.__('Package "%1" created.', created.name),
        { autoClose: 4000 }
      );
      model.touch();
      model.showPackage(created.name);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="dx-View" data-testid="dx-package-form-view">
      <Section title={trans.__('Add package to %1', props.project)}>
        <form
          className="dx-Form"
          onSubmit={onSubmit}
          data-testid="dx-package-form"
          aria-label={trans.__('Add package')}
        >
          <label className="dx-Field">
            <span className="dx-Field-label">{trans.__('Name')}</span>
            <input
              className="jp-mod-styled dx-Input"
              value={name}
              onChange={e => setName(e.target.value)}
              required
              maxLength={128}
              placeholder={trans.__('e.g. secrets-demo')}
              data-testid="dx-package-name"
            />
          </label>
          <label className="dx-Field">
            <span className="dx-Field-label">{trans.__('Description')}</span>
            <textarea
              className="jp-mod-styled dx-Input dx-Textarea"
              value={description}
              onChange={e => setDescription(e.target.value)}
              rows={2}
              data-testid="dx-package-description"
            />
          </label>
          <fieldset className="dx-Fieldset">
            <legend className="dx-Field-label">{trans.__('Scripts (run in this order)')}</legend>
            <ol className="dx-ScriptSlots">
              {slots.map((slot, index) => (
                <li key={slot.key} className="dx-ScriptSlot" data-testid="dx-package-script-slot">
                  <div className="dx-ScriptSlot-row">
                    <input
                      type="file"
                      accept=".py,text/x-python,.json,application/json"
                      className="dx-FileInput"
                      aria-label={trans.__('Script %1', index + 1)}
                      onChange={e => setSlotFile(slot.key, firstFile(e))}
                      data-testid="dx-package-script-input"
                    />
                    <Button
                      type="button"
                      minimal
                      small
                      className="dx-IconButton"
                      onClick={() => removeSlot(slot.key)}
                      aria-label={trans.__('Remove script %1', index + 1)}
                      title={trans.__('Remove this script')}
                      data-testid="dx-package-remove-script"
                    >
                      <closeIcon.react tag="span" aria-hidden="true" />
                    </Button>
                  </div>
                </li>
              ))}
            </ol>
            <Button
              type="button"
              minimal
              className="dx-Button-withIcon"
              onClick={addSlot}
              data-testid="dx-package-add-script"
            >
              <addIcon.react tag="span" aria-hidden="true" />
              {trans.__('Add more scripts')}
            </Button>
          </fieldset>
          <label className="dx-Field">
            <span className="dx-Field-label">{trans.__('secrets.json (optional)')}</span>
            <input
              type="file"
              accept=".json,application/json"
              className="dx-FileInput"
              onChange={e => setSecrets(firstFile(e))}
              data-testid="dx-package-secrets-input"
            />
            <span className="dx-Field-help">
              {trans.__(
                'Read once, encrypted into the package scope, never stored as a file and never shown again.'
              )}
            </span>
          </label>
          <label className="dx-Field">
            <span className="dx-Field-label">{trans.__('config.json (optional)')}</span>
            <input
              type="file"
              accept=".json,application/json"
              className="dx-FileInput"
              onChange={e => setConfig(firstFile(e))}
              data-testid="dx-package-config-input"
            />
          </label>
          <ErrorMessage message={error} testId="dx-package-form-error" />
          <div className="dx-Form-actions">
            <Button
              type="button"
              className="jp-mod-styled jp-mod-reject"
              onClick={() => model.showPackageList()}
              disabled={busy}
              data-testid="dx-package-cancel"
            >
              {trans.__('Cancel')}
            </Button>
            <Button
              type="submit"
              className="jp-mod-styled jp-mod-accept"
              disabled={busy || !name.trim()}
              data-testid="dx-package-save"
            >
              {busy ? trans.__('Saving…') : trans.__('Save')}
            </Button>
          </div>
        </form>
      </Section>
    </div>
  );
}
