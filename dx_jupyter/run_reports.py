"""Progress reports of a run that executes away from the server (a Dask worker), over HTTP.

A remote runner reports to `POST {api_url}/runtime/executions/{id}/report` with the execution's
own token (from the sealed run event) in the `X-DX-Token` header. The body is one event:

    {"event": "run_started"}
    {"event": "step_started", "number": 1}
    {"event": "step_finished", "result": {...a StepResult, see result_to_json...}}
    {"event": "run_finished", "status": "completed"|"failed"|"cancelled", "message": "..."}
    {"event": "heartbeat"}

and the answer is `{"ok": true, "cancel": <bool>}`: `cancel` asks the worker to stop the run (a
user cancelled it). 403 means the token is not (or no longer) this execution's: the run has
ended on the server, so the worker stops it. 409 on `run_started` means the execution is not
pending any more (it was cancelled, or another attempt already ran it): the run must not start.

Step output in `step_finished` was redacted on the worker; it goes straight to the server and
never through the Dask scheduler. This module holds no SQL and needs only the standard library.
"""
from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any, Callable, Optional

from .runner import StepResult

log = logging.getLogger("dx_jupyter.run_reports")

TOKEN_HEADER = "X-DX-Token"
RUN_STARTED, STEP_STARTED, STEP_FINISHED, RUN_FINISHED, HEARTBEAT = (
    "run_started", "step_started", "step_finished", "run_finished", "heartbeat",
)
EVENTS = (RUN_STARTED, STEP_STARTED, STEP_FINISHED, RUN_FINISHED, HEARTBEAT)


def report_url(api_url: str, execution_id: str) -> str:
    return f"{api_url.rstrip('/')}/runtime/executions/{execution_id}/report"


def result_to_json(result: StepResult) -> dict[str, Any]:
    return {
        "number": result.number,
        "status": result.status,
        "exit_code": result.exit_code,
        "output": result.output,
        "truncated": result.truncated,
        "redacted": result.redacted,
        "started_at": result.started_at.isoformat(),
        "finished_at": result.finished_at.isoformat(),
        "duration": result.duration,
        "message": result.message,
    }


def result_from_json(data: Any) -> StepResult:
    """A StepResult from its JSON form; ValueError saying what is wrong otherwise."""
    if not isinstance(data, dict):
        raise ValueError("result must be a JSON object")

    def field(name: str, kinds: Any, optional: bool = False) -> Any:
        value = data.get(name)
        if value is None and optional:
            return None
        if not isinstance(value, kinds) or isinstance(value, bool) and bool not in _tuple(kinds):
            raise ValueError(f"result.{name} is missing or of the wrong type")
        return value

    def when(name: str) -> datetime:
        try:
            value = datetime.fromisoformat(field(name, str))
        except ValueError:
            raise ValueError(f"result.{name} is not an ISO 8601 date and time") from None
        if value.tzinfo is None:
            raise ValueError(f"result.{name} needs a time zone")
        return value

    return StepResult(
        number=field("number", int),
        status=field("status", str),
        exit_code=field("exit_code", int, optional=True),
        output=field("output", str),
        truncated=field("truncated", bool),
        redacted=field("redacted", bool),
        started_at=when("started_at"),
        finished_at=when("finished_at"),
        duration=float(field("duration", (int, float))),
        message=data.get("message", "") if isinstance(data.get("message", ""), str) else "",
    )


def _tuple(kinds: Any) -> tuple:
    return kinds if isinstance(kinds, tuple) else (kinds,)


class RunRefused(Exception):
    """The server refused to let this run start (not pending any more, or its token ended)."""


class ReportFailed(Exception):
    """The server could not be reached (or kept failing) for longer than the retry window."""


class HttpReporter:
    """A `RunReporter` that posts every event to the server, and heartbeats while a run lasts.

    `on_stop` is called (once) when the server asks to stop the run, says the run has ended
    there, or cannot be reached any more: the worker task passes `Runner.cancel`. Only
    `run_started` raises (RunRefused) so that a refused run never starts; other reports
    swallow refusals, since the run is being stopped anyway.
    """

    def __init__(
        self,
        api_url: str,
        execution_id: str,
        token: str,
        *,
        timeout: float = 30.0,
        retry_for: float = 60.0,
        heartbeat: float = 1.0,
    ) -> None:
        if not api_url:
            raise ValueError("the run event has no api_url: the worker cannot report back")
        self.url = report_url(api_url, execution_id)
        self.execution_id = execution_id
        self._token = token
        self.timeout = timeout
        self.retry_for = retry_for
        self.heartbeat_interval = heartbeat
        self.on_stop: Optional[Callable[[], None]] = None
        self.stop_reason = ""
        self._stopped = threading.Event()
        self._finished = threading.Event()
        self._heart: Optional[threading.Thread] = None

    # ----- transport -----
    def _post_once(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode()
        request = urllib.request.Request(
            self.url, data=data, method="POST",
            headers={"Content-Type": "application/json", TOKEN_HEADER: self._token},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                code, payload = resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            try:
                code, payload = err.code, json.loads(err.read() or b"{}")
            except (OSError, ValueError, http.client.HTTPException):
                code, payload = err.code, {}
        return code, payload if isinstance(payload, dict) else {}

    def _post(self, body: dict[str, Any], retry_for: Optional[float] = None) -> tuple[int, dict[str, Any]]:
        """POST with retries on network errors and 5xx; 4xx answers are returned as they are."""
        deadline = time.monotonic() + (self.retry_for if retry_for is None else retry_for)
        delay = 0.1
        while True:
            try:
                code, payload = self._post_once(body)
                if code < 500:
                    return code, payload
                problem = f"HTTP {code}: {payload.get('message', '')}"
            except (OSError, ValueError, http.client.HTTPException) as err:  # URLError, timeouts, resets, bad JSON
                problem = f"{type(err).__name__}: {err}"
            if time.monotonic() + delay > deadline:
                raise ReportFailed(
                    f"could not report {body.get('event')} of execution {self.execution_id} to "
                    f"{self.url}: {problem}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _stop(self, reason: str) -> None:
        if self._stopped.is_set():
            return
        self.stop_reason = reason
        self._stopped.set()
        log.warning("execution %s: stopping the run: %s", self.execution_id, reason)
        if self.on_stop is not None:
            self.on_stop()

    def _report(self, body: dict[str, Any]) -> None:
        """Send one event; stop the run on refusal or when the server stays unreachable."""
        if self._finished.is_set():
            return
        try:
            code, payload = self._post(body)
        except ReportFailed as err:
            self._stop(str(err))
            return
        if code == 200:
            if payload.get("cancel"):
                self._stop("cancelled on the server")
        elif code in (403, 404, 409):
            self._stop(f"the server refused the report (HTTP {code}): {payload.get('message', '')}")
        else:
            log.error("execution %s: report %s answered HTTP %s: %s", self.execution_id,
                      body.get("event"), code, payload.get("message", ""))

    # ----- heartbeat -----
    def _beat(self) -> None:
        while not self._finished.wait(self.heartbeat_interval):
            if self._stopped.is_set():
                return
            self._report({"event": HEARTBEAT})

    def close(self) -> None:
        self._finished.set()
        if self._heart is not None:
            self._heart.join(timeout=self.timeout + 1)

    # ----- RunReporter -----
    def run_started(self, execution_id: str) -> None:
        try:
            code, payload = self._post({"event": RUN_STARTED})
        except ReportFailed as err:
            raise RunRefused(str(err)) from None
        if code != 200:
            raise RunRefused(f"HTTP {code}: {payload.get('message', 'refused')}")
        if self.heartbeat_interval > 0:
            self._heart = threading.Thread(target=self._beat, daemon=True, name="dx-heartbeat")
            self._heart.start()
        if payload.get("cancel"):
            self._stop("cancelled on the server")

    def step_started(self, execution_id: str, number: int) -> None:
        self._report({"event": STEP_STARTED, "number": number})

    def step_finished(self, execution_id: str, result: StepResult) -> None:
        self._report({"event": STEP_FINISHED, "result": result_to_json(result)})

    def run_finished(self, execution_id: str, status: str, message: str) -> None:
        try:
            self._report({"event": RUN_FINISHED, "status": status, "message": message})
        finally:
            self._finished.set()
