/**
 * A read-only view of a package's script in the main area, in JupyterLab's
 * code editor when it is available, with a Download button.
 */
import { MainAreaWidget, Notification } from '@jupyterlab/apputils';
import { CodeEditor, CodeEditorWrapper, IEditorServices } from '@jupyterlab/codeeditor';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ToolbarButton, downloadIcon, pythonIcon, refreshIcon } from '@jupyterlab/ui-components';
import { Panel, Widget } from '@lumino/widgets';
import { DXClient, errorMessage } from './api';
import { saveBlob } from './download';

/** What a script viewer shows. */
export interface IScriptRef {
  project: string;
  package: string;
  script: string;
}

/** A stable id of the viewer of a script. */
export function scriptViewerId(ref: IScriptRef): string {
  return `dx-script:${ref.project}/${ref.package}/${ref.script}`;
}

/**
 * The content of the viewer: a read-only editor (or a `<pre>` when no editor
 * service is available) holding the script's source.
 */
class ScriptContent extends Panel {
  constructor(options: {
    editorServices: IEditorServices | null;
    mimeType: string;
    trans: TranslationBundle;
  }) {
    super();
    this.addClass('dx-ScriptViewer');
    this.node.dataset.testid = 'dx-script-viewer';
    this._status = new Widget();
    this._status.addClass('dx-ScriptViewer-status');
    this._status.node.setAttribute('role', 'status');
    this.addWidget(this._status);
    const services = options.editorServices;
    if (services) {
      this._model = new CodeEditor.Model({ mimeType: options.mimeType });
      this._editor = new CodeEditorWrapper({
        factory: services.factoryService.newDocumentEditor,
        model: this._model,
        editorOptions: { config: { readOnly: true, lineNumbers: true } }
      });
      this._editor.addClass('dx-ScriptViewer-editor');
      this.addWidget(this._editor);
    } else {
      this._pre = document.createElement('pre');
      this._pre.className = 'dx-Code dx-ScriptViewer-pre';
      this._pre.tabIndex = 0;
      this._pre.setAttribute('aria-label', options.trans.__('Script source'));
      const host = new Widget({ node: this._pre });
      this.addWidget(host);
    }
  }

  /** Show a status line (loading, error), or hide it with `null`. */
  setStatus(text: string | null, isError = false): void {
    this._status.node.textContent = text ?? '';
    this._status.setHidden(text === null);
    this._status.node.classList.toggle('dx-mod-error', isError);
  }

  /** Show the source. */
  setSource(source: string): void {
    if (this._model) {
      this._model.sharedModel.setSource(source);
    } else if (this._pre) {
      this._pre.textContent = source;
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model?.dispose();
    super.dispose();
  }

  private _status: Widget;
  private _model: CodeEditor.Model | null = null;
  private _editor: CodeEditorWrapper | null = null;
  private _pre: HTMLPreElement | null = null;
}

/** Create the main-area widget that shows a script, and start loading it. */
export function createScriptViewer(options: {
  ref: IScriptRef;
  client: DXClient;
  editorServices: IEditorServices | null;
  trans: TranslationBundle;
}): MainAreaWidget<ScriptContent> {
  const { ref, client, trans, editorServices } = options;
  const mimeType = editorServices
    ? editorServices.mimeTypeService.getMimeTypeByFilePath(ref.script)
    : 'text/x-python';
  const content = new ScriptContent({ editorServices, mimeType, trans });
  const widget = new MainAreaWidget({ content });
  widget.id = scriptViewerId(ref);
  widget.title.label = ref.script;
  widget.title.caption = trans.__('%1 (read-only) — %2/%3', ref.script, ref.project, ref.package);
  widget.title.icon = pythonIcon;
  widget.title.closable = true;
  widget.addClass('dx-ScriptViewerWidget');

  const load = async () => {
    content.setStatus(trans.__('Loading %1…', ref.script));
    try {
      const source = await client.getScript(ref.project, ref.package, ref.script);
      content.setSource(source);
      content.setStatus(null);
    } catch (e) {
      content.setStatus(trans.__('Could not load the script: %1', errorMessage(e)), true);
    }
  };

  const download = new ToolbarButton({
    icon: downloadIcon,
    label: trans.__('Download'),
    tooltip: trans.__('Download %1', ref.script),
    onClick: async () => {
      try {
        saveBlob(await client.downloadScript(ref.project, ref.package, ref.script), ref.script);
      } catch (e) {
        Notification.error(trans.__('Could not download %1: %2', ref.script, errorMessage(e)));
      }
    }
  });
  download.node.dataset.testid = 'dx-script-viewer-download';
  const reload = new ToolbarButton({
    icon: refreshIcon,
    tooltip: trans.__('Reload from the server'),
    onClick: () => void load()
  });
  widget.toolbar.addItem('download', download);
  widget.toolbar.addItem('reload', reload);
  void load();
  return widget;
}
