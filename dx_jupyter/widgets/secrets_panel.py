"""The secrets upload panel (`%dx_secrets [scope]`).

Scope selector, project and package selectors filled from the server, a `FileUpload` that
accepts one `.json` file, an Upload button, and the result: the names stored, or the server's
error message. Values are never shown. After an upload the file's content is dropped from the
widget (so it is not kept in the notebook's widget state) and its values are masked in this
kernel's outputs.
"""
from __future__ import annotations

import json
import os
from typing import Any, Optional

import ipywidgets as w

from .. import masking
from ..kernel_client import DXClientError, KernelClient
from ._common import LiveDisplay, error_html, esc

SCOPES = (("package (service)", "package"), ("project", "project"), ("platform", "platform"))
NONE = ""


class SecretsPanel(LiveDisplay, w.VBox):
    def __init__(self, client: KernelClient, scope: str = "package", project: Optional[str] = None,
                 package: Optional[str] = None) -> None:
        self.client = client
        self.last: Optional[dict[str, Any]] = None
        self.last_error: Optional[str] = None
        scope = {"service": "package"}.get(scope, scope)
        self.scope = w.Dropdown(options=SCOPES, value=scope, description="Scope")
        self.project = w.Dropdown(options=[], description="Project")
        self.package = w.Dropdown(options=[], description="Package")
        self.mode = w.Checkbox(False, description="Replace the whole set (delete names not in the file)",
                               indent=False)
        self.file = w.FileUpload(accept=".json", multiple=False, description="secrets.json")
        self.button = w.Button(description="Upload", icon="upload", button_style="primary")
        self.result = w.HTML("")
        for widget, cls in ((self.scope, "dx-upload-scope"), (self.project, "dx-upload-project"),
                            (self.package, "dx-upload-package"), (self.file, "dx-upload-file"),
                            (self.button, "dx-upload-button"), (self.result, "dx-upload-result")):
            widget.add_class(cls)
        super().__init__([
            w.HTML("<b>Upload a secrets.json</b> &mdash; values are stored encrypted and never shown"),
            self.scope, self.project, self.package, self.mode, w.HBox([self.file, self.button]), self.result,
        ])
        self.add_class("dx-secrets-panel")
        self._fill_projects(project)
        self._fill_packages(package)
        self.scope.observe(lambda _: self._enable(), "value")
        self.project.observe(lambda _: self._fill_packages(None), "value")
        self.button.on_click(lambda _: self.upload_selected())
        self._enable()

    # ----- selectors -----
    def _fill_projects(self, wanted: Optional[str]) -> None:
        try:
            names = [p["name"] for p in self.client.projects()]
        except DXClientError as err:
            names = []
            self._fail(f"cannot list the projects: {err.message}")
        self.project.options = names
        if wanted in names:
            self.project.value = wanted
        elif names:
            self.project.value = names[0]

    def _fill_packages(self, wanted: Optional[str]) -> None:
        names: list[str] = []
        if self.project.value:
            try:
                names = [p["name"] for p in self.client.packages(self.project.value)]
            except DXClientError as err:
                self._fail(f"cannot list the packages of {self.project.value}: {err.message}")
        self.package.options = names
        if wanted in names:
            self.package.value = wanted
        elif names:
            self.package.value = names[0]

    def _enable(self) -> None:
        scope = self.scope.value
        self.project.disabled = scope == "platform"
        self.package.disabled = scope != "package"

    def target(self) -> tuple[str, Optional[str], Optional[str]]:
        scope = self.scope.value
        project = self.project.value if scope != "platform" else None
        package = self.package.value if scope == "package" else None
        return scope, project, package

    def where(self) -> str:
        scope, project, package = self.target()
        return {"platform": "the platform", "project": f"project {project}"}.get(scope, f"package {project}/{package}")

    # ----- uploading -----
    def upload_selected(self) -> Optional[dict[str, Any]]:
        """The Upload button: send the chosen file to the chosen scope."""
        files = list(self.file.value)
        if not files:
            self._fail("choose a secrets.json file first")
            return None
        chosen = files[0]
        try:
            return self.upload(bytes(chosen["content"]), chosen.get("name") or "secrets.json")
        finally:
            self.file.value = ()  # do not keep the secrets in the widget state

    def upload_file(self, path: "os.PathLike[str] | str") -> Optional[dict[str, Any]]:
        """Upload a secrets.json from a path, as choosing it and pressing Upload would."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as err:
            self._fail(f"cannot read {path}: {err.strerror or err}")
            return None
        return self.upload(data, os.path.basename(os.fspath(path)))

    def upload(self, data: bytes, filename: str = "secrets.json") -> Optional[dict[str, Any]]:
        scope, project, package = self.target()
        if scope != "platform" and not project:
            return self._fail("choose a project (there is none yet: create one with %dx_use PROJECT --create)")
        if scope == "package" and not package:
            return self._fail(f"choose a package (project {project} has none yet)")
        _protect_file(data)
        try:
            answer = self.client.upload_secrets(data, scope, project, package,
                                                mode="replace" if self.mode.value else "upsert")
        except DXClientError as err:
            return self._fail(f"{filename} was not stored: {err.message}")
        self.last, self.last_error = answer, None
        stored = answer.get("stored") or []
        parts = [f"Stored {len(stored)} secret{'s' if len(stored) != 1 else ''} in {esc(self.where())}: "
                 f"<code>{esc(', '.join(stored)) or '(none)'}</code>"]
        if answer.get("deleted"):
            parts.append(f"deleted: <code>{esc(', '.join(answer['deleted']))}</code>")
        self.result.value = "<br>".join(parts)
        self.refresh_display()
        return answer

    def _fail(self, message: str) -> None:
        self.last, self.last_error = None, message
        self.result.value = error_html(message)
        self.refresh_display()
        return None

    # ----- readable summary -----
    def summary_text(self) -> str:
        head = f"Secrets upload panel ({self.where()})"
        if self.last is not None:
            return f"{head}: stored {', '.join(self.last.get('stored') or []) or 'nothing'}"
        if self.last_error:
            return f"{head}: {self.last_error}"
        return head

    def summary_html(self) -> str:
        return f"<div class='dx-secrets-summary'>{esc(self.summary_text())}</div>"


def _protect_file(data: bytes) -> None:
    """Mask the uploaded values in this kernel's outputs too."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return
    if isinstance(doc, dict):
        for value in doc.values():
            masking.protect(value)
