"""The package panel (`%dx_package PACKAGE`): scripts, secret names per scope, a Run button."""
from __future__ import annotations

from typing import Any, Optional

import ipywidgets as w

from ..kernel_client import DXClientError, KernelClient
from ._common import LiveDisplay, error_html, esc, fmt_time
from .execution import Execution, ExecutionView

SCOPES = ("package", "project", "platform")


class PackagePanel(LiveDisplay, w.VBox):
    def __init__(self, client: KernelClient, project: str, package: str) -> None:
        self.client = client
        self.project_name = project
        self.package_name = package
        self.info: dict[str, Any] = {}
        self.names: dict[str, list[str]] = {}
        self.executions: list[Execution] = []
        self.title = w.HTML("")
        self.scripts = w.HTML("")
        self.scripts.add_class("dx-package-scripts")
        self.secrets = w.HTML("")
        self.secrets.add_class("dx-package-secrets")
        self.message = w.HTML("")
        self.message.add_class("dx-package-message")
        self.run_button = w.Button(description="Run", icon="play", button_style="success")
        self.run_button.add_class("dx-package-run")
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.runs = w.VBox([])
        self.run_button.on_click(lambda _: self.run())
        self.refresh_button.on_click(lambda _: self.reload())
        super().__init__([self.title, self.scripts, self.secrets,
                          w.HBox([self.run_button, self.refresh_button]), self.message, self.runs])
        self.add_class("dx-package-panel")
        self.reload()

    def reload(self) -> None:
        """Read the package and the secret names of its three scopes again."""
        p, k = self.project_name, self.package_name
        try:
            self.info = self.client.package(p, k)
            self.names = {
                scope: [s["name"] for s in self.client.secret_names(scope, p, k)] for scope in SCOPES
            }
        except DXClientError as err:
            self.message.value = error_html(err.message)
            return
        self.title.value = (f"<b>{esc(p)}/{esc(k)}</b>"
                            + (f" &mdash; {esc(self.info.get('description'))}" if self.info.get("description") else ""))
        rows = "".join(
            f"<tr><td>{s['order']}</td><td><code>{esc(s['name'])}</code></td><td>{s.get('size', '')} bytes</td>"
            f"<td>{fmt_time(s.get('updated_at'))}</td></tr>" for s in self.info.get("scripts") or []
        ) or "<tr><td colspan=4><i>no scripts yet</i></td></tr>"
        self.scripts.value = ("<b>Scripts</b><table><thead><tr><th>#</th><th>script</th><th>size</th>"
                              f"<th>updated</th></tr></thead><tbody>{rows}</tbody></table>")
        self.secrets.value = self._secrets_table()
        self.message.value = ""
        self.refresh_display()

    def _secrets_table(self) -> str:
        every = sorted({n for names in self.names.values() for n in names})
        if not every:
            return "<b>Secrets</b> <i>none in reach</i>"
        head = "".join(f"<th>{s}</th>" for s in SCOPES)
        rows = []
        for name in every:
            winner = next(s for s in SCOPES if name in self.names[s])
            cells = "".join(
                f"<td>{'&#x2714;' + (' (used)' if s == winner else '') if name in self.names[s] else ''}</td>"
                for s in SCOPES
            )
            rows.append(f"<tr><td><code>{esc(name)}</code></td>{cells}</tr>")
        return (f"<b>Secrets</b> (names only; lookup: package, then project, then platform)"
                f"<table><thead><tr><th>name</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")

    def run(self, params: Optional[dict[str, Any]] = None) -> Optional[Execution]:
        """The Run button: start an execution and open its view below."""
        try:
            info = self.client.start_execution(self.project_name, self.package_name, params)
        except DXClientError as err:
            self.message.value = error_html(f"cannot run: {err.message}")
            return None
        execution = Execution(self.client, info)
        self.executions.append(execution)
        view: ExecutionView = execution.view
        self.runs.children = [view, *self.runs.children]
        execution.follow()
        return execution

    def summary_text(self) -> str:
        scripts = ", ".join(s["name"] for s in self.info.get("scripts") or []) or "none"
        names = "; ".join(f"{s}: {', '.join(self.names.get(s) or []) or '-'}" for s in SCOPES)
        return f"Package {self.project_name}/{self.package_name}: scripts {scripts}; secrets {names}"

    def summary_html(self) -> str:
        return f"<div class='dx-package-summary'>{self.title.value}{self.scripts.value}{self.secrets.value}</div>"
