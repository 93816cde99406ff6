"""One execution in a notebook: the `Execution` object `%dx_run` returns, and its live view.

The view is a header (package, trigger, status, start, duration) and a steps table (order,
script, status, duration, a "Show results" toggle per step). A background thread polls the
server with backoff (0.2 s growing to 2 s) until the execution is final, updates the widgets,
and then re-sends the display with a text/plain and text/html summary of the final state
(results included), which is what a saved notebook keeps where widgets are not rendered.
Results come from the server already redacted; the kernel's output masking applies on top.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import ipywidgets as w

from ..kernel_client import DXClientError, KernelClient
from ._common import (
    FINAL,
    STEP_FINAL,
    LiveDisplay,
    color_status,
    error_html,
    esc,
    fmt_duration,
    fmt_time,
    label,
    status_html,
)

FIRST_DELAY, BACKOFF, MAX_DELAY = 0.2, 1.5, 2.0
MAX_ERRORS = 30
COLUMNS = ("3em", "18em", "9em", "7em", "9em")


@dataclass(frozen=True)
class Step:
    number: int
    script: str
    status: str
    exit_code: Optional[int]
    started_at: Optional[str]
    finished_at: Optional[str]
    duration: Optional[float]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Step":
        return cls(d["number"], d["script"], d["status"], d.get("exit_code"), d.get("started_at"),
                   d.get("finished_at"), d.get("duration"))


class Execution:
    """An execution of a package, as `r = %dx_run PACKAGE` returns it.

    `.id`, `.status`, `.steps` (list of `Step`), `.done`; `.refresh()`, `.wait()`,
    `.output(n)` (the redacted output of step n), `.results()`, `.cancel()`, `.view`.
    While its view follows it, the attributes are kept up to date.
    """

    def __init__(self, client: KernelClient, info: dict[str, Any]) -> None:
        self.client = client
        self._info = info
        self._results: dict[int, dict[str, Any]] = {}
        self._view: Optional[ExecutionView] = None
        self._poller: Optional[threading.Thread] = None
        self._final = threading.Event()
        if self.done:
            self._final.set()

    # ----- what the server said last -----
    @property
    def info(self) -> dict[str, Any]:
        return dict(self._info)

    id = property(lambda self: self._info["id"])
    project = property(lambda self: self._info["project"])
    package = property(lambda self: self._info["package"])
    status = property(lambda self: self._info["status"])
    status_message = property(lambda self: self._info.get("status_message") or "")
    trigger = property(lambda self: self._info.get("trigger"))
    params = property(lambda self: dict(self._info.get("params") or {}))
    started_at = property(lambda self: self._info.get("started_at"))
    finished_at = property(lambda self: self._info.get("finished_at"))
    duration = property(lambda self: self._info.get("duration"))

    @property
    def steps(self) -> list[Step]:
        return [Step.from_dict(s) for s in self._info.get("steps") or []]

    @property
    def done(self) -> bool:
        return self.status in FINAL

    @property
    def succeeded(self) -> bool:
        return self.status == "completed"

    def __repr__(self) -> str:
        steps = len(self._info.get("steps") or [])
        return (f"<Execution {self.id[:8]} {self.project}/{self.package}: {self.status}, "
                f"{steps} step{'s' if steps != 1 else ''}>")

    # ----- talking to the server -----
    def refresh(self) -> "Execution":
        self._info = self.client.execution(self.id)
        if self.done:
            self._final.set()
        return self

    def result(self, number: int) -> dict[str, Any]:
        """Step `number`'s result: status, exit code and output (redacted by the server)."""
        cached = self._results.get(number)
        if cached is not None:
            return cached
        result = self.client.result(self.id, number)
        if result.get("status") in STEP_FINAL and self.done:
            self._results[number] = result
        return result

    def output(self, number: int) -> str:
        return self.result(number).get("output", "")

    def results(self) -> list[dict[str, Any]]:
        return [self.result(s.number) for s in self.steps]

    def cancel(self) -> "Execution":
        self._info = self.client.cancel(self.id)
        self.follow()
        return self

    # ----- following it -----
    @property
    def view(self) -> "ExecutionView":
        if self._view is None:
            self._view = ExecutionView(self)
        return self._view

    def follow(self) -> None:
        """Poll in a background thread until final, updating the view (no-op when running)."""
        if self._poller is not None and self._poller.is_alive():
            return
        view = self.view  # made in the caller's thread
        if self.done and view.finished:
            return
        self._poller = threading.Thread(target=self._poll, name=f"dx-execution-{self.id[:8]}", daemon=True)
        self._poller.start()

    def wait(self, timeout: Optional[float] = None) -> "Execution":
        """Block until the execution is final (or `timeout` seconds passed); interruptible."""
        self.follow()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._final.is_set():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            if self._poller is None or not self._poller.is_alive():
                break  # the poller gave up (the view says why)
            self._final.wait(0.5 if left is None else min(0.5, left))
        if self._poller is not None and self._final.is_set():
            self._poller.join(10)  # the last view update and the results
        return self

    def _poll(self, sleep: Callable[[float], Any] = time.sleep) -> None:
        """Refresh with backoff until final; then the last view update. Never raises."""
        view = self.view
        delay, errors = FIRST_DELAY, 0
        try:
            while True:
                try:
                    self.refresh()
                    errors = 0
                    view.update()
                except DXClientError as err:
                    errors += 1
                    view.show_problem(f"cannot follow the execution: {err.message}")
                    if errors >= MAX_ERRORS:
                        view.show_problem(f"stopped following the execution after {errors} failed "
                                          f"attempts: {err.message} (.wait() tries again)")
                        return
                if self.done:
                    break
                sleep(delay)
                delay = min(delay * BACKOFF, MAX_DELAY)
            view.finish()
        except Exception as err:  # a bug must not leave .wait() hanging
            view.show_problem(f"stopped following the execution: {type(err).__name__}: {err}")
        finally:
            if self.done:
                self._final.set()

    def _ipython_display_(self) -> None:
        self.view._ipython_display_()


class _StepRow:
    def __init__(self, view: "ExecutionView", step: Step) -> None:
        self.view = view
        self.number = step.number
        self.order = label(str(step.number), "dx-step-number", COLUMNS[0])
        self.script = label(step.script, "dx-step-script", COLUMNS[1])
        self.status = label(step.status, "dx-step-status", COLUMNS[2])
        self.duration = label(fmt_duration(step.duration), "dx-step-duration", COLUMNS[3])
        self.toggle = w.ToggleButton(False, description="Show results", icon="file-text-o",
                                     layout=w.Layout(width=COLUMNS[4]))
        self.toggle.add_class("dx-step-toggle")
        self.result = w.HTML("", layout=w.Layout(max_height="260px", overflow="auto", border="1px solid #d1d5db",
                                                  padding="2px 6px", margin="2px 0 6px 0", display="none"))
        self.result.add_class("dx-step-result")
        self.toggle.observe(self._toggled, "value")
        self.row = w.HBox([self.order, self.script, self.status, self.duration, self.toggle])
        self.box = w.VBox([self.row, self.result])
        self.update(step)

    def update(self, step: Step) -> None:
        self.status.value = step.status
        color_status(self.status, step.status)
        self.duration.value = fmt_duration(step.duration)

    def _toggled(self, change: dict[str, Any]) -> None:
        shown = bool(change["new"])
        self.toggle.description = "Hide results" if shown else "Show results"
        self.result.layout.display = None if shown else "none"
        if shown:
            self.load()

    def load(self) -> None:
        execution = self.view.execution
        step = next((s for s in execution.steps if s.number == self.number), None)
        if step is not None and step.status not in STEP_FINAL:
            self.result.value = "<pre style='margin:0'>(the step is still running; its results come when it ends)</pre>"
            return
        try:
            result = execution.result(self.number)
        except DXClientError as err:
            self.result.value = error_html(f"cannot read the results: {err.message}")
            return
        self.result.value = result_html(result)


def result_html(result: dict[str, Any]) -> str:
    output = result.get("output") or ""
    notes = []
    if result.get("truncated"):
        notes.append("output truncated")
    if result.get("redacted"):
        notes.append("secret values masked")
    note = f"<div style='color:#6b7280;font-size:90%'>{esc(', '.join(notes))}</div>" if notes else ""
    body = esc(output) if output else "(no output)"
    return f"<pre style='margin:0;font-family:monospace;white-space:pre-wrap'>{body}</pre>{note}"


class ExecutionView(LiveDisplay, w.VBox):
    """The live widget of one execution (see the module doc)."""

    def __init__(self, execution: Execution) -> None:
        self.execution = execution
        self.finished = False
        self._lock = threading.RLock()
        self.title = label("", "dx-exec-package")
        self.title.style.font_weight = "bold"
        self.trigger = label("", "dx-exec-trigger")
        self.status = label("", "dx-exec-status")
        self.started = label("", "dx-exec-started")
        self.duration = label("", "dx-exec-duration")
        self.message = w.HTML("")
        self.message.add_class("dx-exec-message")
        self.cancel_button = w.Button(description="Cancel", icon="stop", button_style="warning",
                                      layout=w.Layout(width="8em"))
        self.cancel_button.on_click(self._cancel)
        header = w.HBox([self.title, self.trigger, self.status, self.started, self.duration, self.cancel_button],
                        layout=w.Layout(grid_gap="1.5em", align_items="center"))
        heading = w.HBox([label(t, "dx-steps-heading", c) for t, c in
                          zip(("#", "script", "status", "duration", ""), COLUMNS)])
        for child in heading.children:
            child.style.font_weight = "bold"
        self.rows: dict[int, _StepRow] = {}
        self.steps_box = w.VBox([])
        super().__init__([header, self.message, heading, self.steps_box])
        self.add_class("dx-execution")
        self.update()

    # ----- from the poller (any thread) -----
    def update(self) -> None:
        e = self.execution
        with self._lock:
            self.title.value = f"{e.project}/{e.package}"
            self.trigger.value = f"trigger: {e.trigger}"
            self.status.value = f"status: {e.status}"
            color_status(self.status, e.status)
            self.started.value = f"started: {fmt_time(e.started_at)}"
            self.duration.value = f"duration: {fmt_duration(e.duration)}"
            self.message.value = esc(e.status_message) if e.status_message else ""
            self.cancel_button.layout.display = "none" if e.done else None
            new_rows = False
            for step in e.steps:
                row = self.rows.get(step.number)
                if row is None:
                    self.rows[step.number] = _StepRow(self, step)
                    new_rows = True
                else:
                    before = row.status.value
                    row.update(step)
                    if row.toggle.value and before not in STEP_FINAL and step.status in STEP_FINAL:
                        row.load()
            if new_rows:
                self.steps_box.children = [self.rows[n].box for n in sorted(self.rows)]

    def show_problem(self, message: str) -> None:
        self.message.value = error_html(message)

    def finish(self) -> None:
        """The execution is final: load open results, and re-send the readable summary."""
        e = self.execution
        if e.done:
            try:
                e.results()  # cached for the summary
            except DXClientError as err:
                self.show_problem(f"cannot read the results: {err.message}")
        with self._lock:
            for row in self.rows.values():
                if row.toggle.value:
                    row.load()
            self.finished = True
        self.refresh_display()

    def _cancel(self, _: Any) -> None:
        try:
            self.execution.cancel()
        except DXClientError as err:
            self.show_problem(f"cannot cancel: {err.message}")

    # ----- readable summary -----
    def _cached_outputs(self) -> dict[int, str]:
        return {n: r.get("output") or "" for n, r in dict(self.execution._results).items()}

    def summary_text(self) -> str:
        e = self.execution
        lines = [
            f"Execution {e.id} of {e.project}/{e.package}",
            f"trigger: {e.trigger}  status: {e.status}  started: {fmt_time(e.started_at)}  "
            f"duration: {fmt_duration(e.duration)}",
        ]
        if e.status_message:
            lines.append(f"message: {e.status_message}")
        outputs = self._cached_outputs()
        for s in e.steps:
            lines.append(f"  {s.number}. {s.script}  {s.status}  {fmt_duration(s.duration)}")
            if s.number in outputs:
                for line in (outputs[s.number] or "(no output)").rstrip("\n").splitlines():
                    lines.append(f"     | {line}")
        return "\n".join(lines)

    def summary_html(self) -> str:
        e = self.execution
        outputs = self._cached_outputs()
        rows = []
        for s in e.steps:
            results = ""
            if s.number in outputs:
                results = ("<details><summary>Show results</summary>"
                           + result_html(e._results.get(s.number, {})) + "</details>")
            rows.append(f"<tr><td>{s.number}</td><td>{esc(s.script)}</td><td>{status_html(s.status)}</td>"
                        f"<td>{fmt_duration(s.duration)}</td><td>{results}</td></tr>")
        message = f"<div>{esc(e.status_message)}</div>" if e.status_message else ""
        return (
            f"<div class='dx-execution-summary'><b>{esc(e.project)}/{esc(e.package)}</b> "
            f"&middot; trigger {esc(e.trigger)} &middot; status {status_html(e.status)} &middot; "
            f"started {fmt_time(e.started_at)} &middot; duration {fmt_duration(e.duration)}"
            f"<div style='font-size:85%;color:#6b7280'>execution {esc(e.id)}</div>{message}"
            "<table><thead><tr><th>#</th><th>script</th><th>status</th><th>duration</th><th></th></tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table></div>"
        )
