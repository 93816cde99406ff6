"""The worker side of the Dask executor: the task every run becomes on a Dask worker.

`run_execution(event, settings)` receives only the run event (secrets and token sealed under the
executor key) and plain settings. It opens the event with the executor key from the worker's
OWN environment (`DX_EXECUTOR_KEY`, base64 of 32 bytes) or key file (`DX_EXECUTOR_KEY_FILE`),
runs the steps with `dx_jupyter.runner.Runner` exactly as the local executor does (fork server
or subprocess launcher, secrets to each step over a pipe, output redacted), and reports
progress straight to the server over HTTP (`dx_jupyter.run_reports.HttpReporter`), so neither
secrets nor step output pass through the scheduler. The task's return value is a small summary
(status and message) the server uses only as a fallback.

Workers never need the master key or the database.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import stat
import sys
import threading
from pathlib import Path
from typing import Any

from ..forkserver import ForkServer
from ..keyring import decode_key
from ..run_events import open_run_event
from ..run_reports import HttpReporter, RunRefused
from ..runner import Launcher, Runner, RunSettings, SubprocessLauncher, step_environment

log = logging.getLogger("dx_jupyter.dask_worker")

KEY_ENV = "DX_EXECUTOR_KEY"
KEY_FILE_ENV = "DX_EXECUTOR_KEY_FILE"
REFUSED = "refused"
TASK_PREFIX = "dx-run-"


class WorkerKeyError(RuntimeError):
    """This worker has no usable executor key."""


def worker_executor_key() -> bytes:
    """The executor key from $DX_EXECUTOR_KEY, else the file named by $DX_EXECUTOR_KEY_FILE."""
    text = os.environ.get(KEY_ENV, "")
    if text:
        try:
            return decode_key(text, f"${KEY_ENV} on this Dask worker")
        except Exception as err:
            raise WorkerKeyError(str(err)) from None
    path = os.environ.get(KEY_FILE_ENV, "")
    if not path:
        raise WorkerKeyError(
            f"this Dask worker has no executor key: set {KEY_ENV} (base64 of 32 bytes, the "
            f"server's executor key) or {KEY_FILE_ENV} (a file holding it) in the worker's "
            "environment; see docs/deployment.md"
        )
    try:
        mode = os.stat(path).st_mode
        text = Path(path).read_text()
    except OSError as err:
        raise WorkerKeyError(f"cannot read the executor key file {path}: {err}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("the executor key file %s is readable by others; chmod 600 it", path)
    try:
        return decode_key(text, f"the executor key file {path}")
    except Exception as err:
        raise WorkerKeyError(str(err)) from None


_launchers: dict[tuple[str, tuple[str, ...]], Launcher] = {}
_launchers_lock = threading.Lock()


def worker_launcher(kind: str, preload: tuple[str, ...] = ()) -> Launcher:
    """One warm fork server per worker process (started on first use), or a fresh interpreter
    per step. The fork server's environment is the scrubbed step environment: no keys."""
    if kind == "subprocess":
        return SubprocessLauncher(sys.executable)
    with _launchers_lock:
        launcher = _launchers.get((kind, preload))
        if launcher is None:
            launcher = ForkServer(sys.executable, step_environment(), preload)
            launcher.warm()
            _launchers[(kind, preload)] = launcher
        return launcher


def run_settings(settings: dict[str, Any]) -> RunSettings:
    """The server's RunSettings, minus what belongs to this machine (its Python)."""
    known = {f.name for f in dataclasses.fields(RunSettings)} - {"python"}
    return RunSettings(**{k: v for k, v in settings.get("run", {}).items() if k in known})


def run_execution(event: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """The Dask task of one execution. Returns {"status", "message"}; raises only when the
    run could not even be opened (no key, wrong key), which fails the execution on the server."""
    payload = open_run_event(event, worker_executor_key())
    reporter = HttpReporter(
        payload.api_url or "",
        payload.execution_id,
        payload.token,
        heartbeat=float(settings.get("heartbeat", 1.0)),
        retry_for=float(settings.get("retry_for", 60.0)),
    )
    launcher = worker_launcher(settings.get("launcher", "forkserver"), tuple(settings.get("preload", ())))
    runner = Runner(payload, reporter, run_settings(settings), launcher)
    reporter.on_stop = runner.cancel
    final: dict[str, Any] = {}
    finished = reporter.run_finished

    def run_finished(execution_id: str, status: str, message: str) -> None:
        final.update(status=status, message=message)
        finished(execution_id, status, message)

    reporter.run_finished = run_finished  # type: ignore[method-assign]
    try:
        status = runner.run()
    except RunRefused as err:
        return {"status": REFUSED, "message": str(err), "pid": os.getpid()}
    finally:
        reporter.close()
    return {
        "status": final.get("status", status),
        "message": final.get("message", ""),
        "stopped": reporter.stop_reason,
        "pid": os.getpid(),
    }
