"""A package's recent executions as a table (`%dx_executions PACKAGE`); Open shows one."""
from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..kernel_client import DXClientError, KernelClient
from ._common import LiveDisplay, color_status, error_html, esc, fmt_duration, fmt_time, label, status_html
from .execution import Execution

COLUMNS = ("execution", "trigger", "status", "created", "duration", "")


class ExecutionsTable(LiveDisplay, w.VBox):
    def __init__(self, client: KernelClient, project: str, package: str, limit: int = 20) -> None:
        self.client = client
        self.project_name = project
        self.package_name = package
        self.limit = limit
        self.page: dict[str, Any] = {"executions": [], "total": 0}
        self.title = w.HTML("")
        self.grid = w.GridBox([], layout=w.Layout(grid_template_columns="9em 7em 8em 14em 7em 6em",
                                                  grid_gap="2px 12px", align_items="center"))
        self.grid.add_class("dx-executions-grid")
        self.message = w.HTML("")
        self.opened = w.VBox([])
        refresh = w.Button(description="Refresh", icon="refresh")
        refresh.on_click(lambda _: self.reload())
        super().__init__([w.HBox([self.title, refresh], layout=w.Layout(align_items="center", grid_gap="1em")),
                          self.grid, self.message, self.opened])
        self.add_class("dx-executions-table")
        self.reload()

    def reload(self) -> None:
        try:
            self.page = self.client.executions(self.project_name, self.package_name, limit=self.limit)
        except DXClientError as err:
            self.message.value = error_html(err.message)
            return
        self.message.value = ""
        shown, total = len(self.page["executions"]), self.page["total"]
        self.title.value = (f"<b>{esc(self.project_name)}/{esc(self.package_name)}</b>: "
                            f"{shown} of {total} execution{'s' if total != 1 else ''}, newest first")
        cells: list[w.Widget] = []
        for name in COLUMNS:
            head = label(name, "dx-executions-heading")
            head.style.font_weight = "bold"
            cells.append(head)
        for e in self.page["executions"]:
            status = label(e["status"], "dx-execution-row-status")
            color_status(status, e["status"])
            button = w.Button(description="Open", layout=w.Layout(width="6em"))
            button.on_click(lambda _, info=e: self.open_execution(info))
            cells += [label(e["id"][:8], "dx-execution-row-id"), label(e["trigger"], "dx-execution-row-trigger"),
                      status, label(fmt_time(e["created_at"]), "dx-execution-row-created"),
                      label(fmt_duration(e.get("duration")), "dx-execution-row-duration"), button]
        self.grid.children = cells
        self.refresh_display()

    def open_execution(self, info: dict[str, Any]) -> Execution:
        """Show one execution's view (live if it still runs)."""
        execution = Execution(self.client, info)
        self.opened.children = [execution.view]
        execution.follow()
        return execution

    def summary_text(self) -> str:
        lines = [f"Executions of {self.project_name}/{self.package_name} ({self.page.get('total', 0)} in all)"]
        for e in self.page["executions"]:
            lines.append(f"  {e['id'][:8]}  {e['trigger']:<9} {e['status']:<11} {fmt_time(e['created_at'])}  "
                         f"{fmt_duration(e.get('duration'))}")
        return "\n".join(lines)

    def summary_html(self) -> str:
        rows = "".join(
            f"<tr><td><code>{esc(e['id'][:8])}</code></td><td>{esc(e['trigger'])}</td><td>{status_html(e['status'])}</td>"
            f"<td>{fmt_time(e['created_at'])}</td><td>{fmt_duration(e.get('duration'))}</td></tr>"
            for e in self.page["executions"]
        )
        head = "".join(f"<th>{c}</th>" for c in COLUMNS[:-1])
        return (f"<div class='dx-executions-summary'>{self.title.value}<table><thead><tr>{head}</tr></thead>"
                f"<tbody>{rows}</tbody></table></div>")
