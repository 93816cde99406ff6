"""The Dask executor: each run becomes one task on a Dask distributed cluster.

    c.DXJupyter.executor_class = "dx_jupyter.executors.dask.DaskExecutor"
    c.DaskExecutor.scheduler_address = "tcp://scheduler-host:8786"
    c.DXJupyter.executor_key = "<base64 of 32 bytes>"   # or $DX_EXECUTOR_KEY; workers hold the same
    c.DXJupyter.api_url = "http://jupyter-host:8888/dx/api"  # how workers reach this server

Only the run event goes through the scheduler: secrets and the execution's token in it are one
AES-GCM ciphertext under the executor key, which the scheduler does not have. The task
(dx_jupyter.executors.dask_worker.run_execution) decrypts on the worker, runs the steps with the
same Runner as the local executor, and reports progress straight to this server over HTTP.

This side watches each task's future (a synchronous distributed Client, with its own event-loop
thread; callbacks run on distributed's callback thread, never on tornado's loop): a task that
errs (e.g. KilledWorker when the worker died mid-run) or that the scheduler drops fails its
execution with a message that says so. Cancel: a run nobody has started yet is cancelled in
the store and its task dropped from the scheduler; a running one is told to stop in the answer
to its next progress report or heartbeat.

Run the scheduler with `distributed.scheduler.allowed-failures: 0`
(DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0) so a dead worker fails the run at once. With
retries allowed, the re-scheduled attempt is refused by the server (the execution is no longer
pending: a run never executes twice) and the execution is failed then.
"""
from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional, Protocol

from traitlets import Dict, Enum, Float, List, Unicode

from ..runner import CANCELLED, FAILED, RunReporter
from .base import Executor
from .dask_worker import REFUSED, TASK_PREFIX, run_execution

SHUTDOWN_MESSAGE = "the server stopped while this run was on the Dask cluster"


class ServerReporter(RunReporter, Protocol):
    """What the Dask executor needs of the server's ExecutionsService besides RunReporter."""

    def cancel_pending(self, execution_id: str, message: str = ...) -> bool: ...


def _failure_message(exc: BaseException) -> str:
    from distributed.scheduler import KilledWorker

    if isinstance(exc, KilledWorker):
        worker = getattr(getattr(exc, "last_worker", None), "address", None) or "unknown"
        return (
            f"the Dask worker running this execution died ({worker}); the run is not retried, "
            "since a run never executes twice"
        )
    return f"the Dask task failed on the worker: {type(exc).__name__}: {exc}"


class DaskExecutor(Executor):
    """Runs executions as tasks on a Dask distributed cluster."""

    scheduler_address = Unicode(
        "", config=True, help="Address of the Dask scheduler, e.g. tcp://scheduler:8786 "
        "(tls:// with distributed's TLS settings in the Dask config).",
    )
    connect_timeout = Float(30.0, config=True, help="Seconds to wait when connecting to the scheduler.")
    launcher = Enum(
        ["forkserver", "subprocess"], "forkserver", config=True,
        help="How the worker starts each step's process (as LocalExecutor.launcher).",
    )
    preload_modules = List(
        Unicode(), config=True, help="Modules each worker's fork server imports once, e.g. ['pandas']."
    )
    heartbeat_interval = Float(
        1.0, config=True, help="Seconds between a running task's heartbeats to the server; a "
        "cancel reaches a running step within about this long.",
    )
    report_retry_seconds = Float(
        60.0, config=True, help="How long a worker retries a progress report while the server "
        "cannot be reached before it stops the run.",
    )
    resources = Dict(
        config=True, help="Dask worker resources each run needs, e.g. {'dx': 1} to run only on "
        "workers started with --resources dx=1.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.scheduler_address:
            raise ValueError(
                "DaskExecutor needs c.DaskExecutor.scheduler_address (e.g. tcp://scheduler:8786)"
            )
        self._lock = threading.Lock()
        self._futures: dict[str, Any] = {}
        self._cancel_requested: set[str] = set()
        self._client: Optional[Any] = None
        self._closed = False
        try:
            self._get_client()
        except Exception as err:  # not fatal: retried at the first run, which fails clearly if still down
            self.log.error("DaskExecutor: cannot reach the scheduler at %s yet: %s", self.scheduler_address, err)

    # ----- the client -----
    def _get_client(self) -> Any:
        with self._lock:
            if self._closed:
                raise RuntimeError("the Dask executor is shut down")
            if self._client is not None:
                return self._client
        # A synchronous Client runs its own event loop in a thread; build it off any running loop.
        from distributed import Client

        with ThreadPoolExecutor(1, thread_name_prefix="dx-dask-connect") as pool:
            client = pool.submit(
                Client, self.scheduler_address, timeout=self.connect_timeout,
                set_as_default=False, name="dx-jupyter",
            ).result()
        with self._lock:
            if self._client is None and not self._closed:
                self._client = client
                self.log.info("DaskExecutor: connected to %s", self.scheduler_address)
                return client
            current = self._client
        client.close()
        if current is None:
            raise RuntimeError("the Dask executor is shut down")
        return current

    def task_settings(self) -> dict[str, Any]:
        """Plain settings shipped with each task (nothing secret)."""
        run = dataclasses.asdict(self.settings())
        run.pop("python", None)  # the worker uses its own interpreter
        return {
            "run": run,
            "launcher": self.launcher,
            "preload": list(self.preload_modules),
            "heartbeat": self.heartbeat_interval,
            "retry_for": self.report_retry_seconds,
        }

    # ----- Executor -----
    def submit(self, event: dict[str, Any]) -> None:
        eid = event["data"]["execution_id"]
        try:
            client = self._get_client()
            future = client.submit(
                run_execution, event, self.task_settings(),
                key=f"{TASK_PREFIX}{eid}", pure=False, retries=0,
                resources=dict(self.resources) or None,
            )
        except Exception as err:
            self.log.error("execution %s: could not submit to Dask: %s", eid, err)
            self.reporter.run_finished(
                eid, FAILED,
                f"could not submit the run to the Dask scheduler at {self.scheduler_address}: "
                f"{type(err).__name__}: {err}",
            )
            return
        with self._lock:
            self._futures[eid] = future
        future.add_done_callback(self._task_done)

    def _task_done(self, future: Any) -> None:
        """On distributed's callback thread: make sure the execution ends, whatever happened."""
        eid = str(future.key)[len(TASK_PREFIX):]
        with self._lock:
            if self._futures.get(eid) is future:
                del self._futures[eid]
            by_user = eid in self._cancel_requested
            self._cancel_requested.discard(eid)
        try:
            if future.status == "finished":
                summary = future.result()
                if summary.get("status") == REFUSED:
                    # Only a re-scheduled attempt of a run that had started is refused while the
                    # execution is still in progress: its first worker died.
                    status, message = FAILED, (
                        "a Dask worker died during this execution; the re-scheduled attempt was "
                        f"refused, since a run never executes twice ({summary.get('message', '')})"
                    )
                else:  # normally reported already; this covers a lost final report
                    status, message = summary.get("status", FAILED), summary.get("message", "")
            elif future.status == "error":
                status, message = FAILED, _failure_message(future.exception())
            elif by_user:
                status, message = CANCELLED, "cancelled by a user"
            else:
                status, message = FAILED, (
                    "the Dask scheduler dropped this run (the scheduler restarted or the server "
                    "lost its connection to it)"
                )
            self.reporter.run_finished(eid, status, message)  # no-op if already final
        except Exception:
            self.log.exception("execution %s: could not record the end of its Dask task", eid)
        finally:
            try:
                future.release()
            except Exception:
                pass

    def cancel(self, execution_id: str) -> bool:
        with self._lock:
            future = self._futures.get(execution_id)
            if future is None:
                return False
            self._cancel_requested.add(execution_id)
        reporter: ServerReporter = self.reporter  # type: ignore[assignment]
        if reporter.cancel_pending(execution_id):
            future.cancel()  # not started anywhere: drop it from the scheduler's queue
        return True

    def cancel_requested(self, execution_id: str) -> bool:
        with self._lock:
            return execution_id in self._cancel_requested

    def held(self) -> list[str]:
        """Executions whose tasks this executor is watching."""
        with self._lock:
            return sorted(self._futures)

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            held = dict(self._futures)
            client, self._client = self._client, None
        for eid in held:
            try:
                self.reporter.run_finished(eid, FAILED, SHUTDOWN_MESSAGE)
            except Exception:  # the next start's recovery marks it
                self.log.exception("execution %s: could not record the shutdown", eid)
        if client is not None:
            try:
                if held:
                    client.cancel(list(held.values()))
            except Exception:
                pass
            client.close(timeout=10)
