"""The default executor: a bounded pool of threads, each running one execution's processes."""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from traitlets import Enum, Int, List, Unicode

from ..forkserver import ForkServer
from ..runner import CANCELLED, FAILED, Launcher, Runner, SubprocessLauncher, step_environment
from .base import Executor


SHUTDOWN_REASON = "the server stopped"


class LocalExecutor(Executor):
    """Runs executions on this machine; extra runs wait as `pending` until a slot frees."""

    max_concurrent = Int(4, config=True, help="Executions that may run at the same time.")
    launcher = Enum(
        ["forkserver", "subprocess"],
        "forkserver",
        config=True,
        help="How step processes start: forked from a warm pre-imported process (fast), or a "
        "fresh interpreter per step.",
    )
    preload_modules = List(
        Unicode(), config=True, help="Modules the fork server imports once, e.g. ['pandas']."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool = ThreadPoolExecutor(max_workers=self.max_concurrent, thread_name_prefix="dx-run")
        self._runners: dict[str, Runner] = {}
        self._futures: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._launcher: Launcher = (
            ForkServer(self.settings().python, step_environment(), self.preload_modules)
            if self.launcher == "forkserver"
            else SubprocessLauncher(self.settings().python)
        )
        if isinstance(self._launcher, ForkServer):
            self._launcher.warm()

    def submit(self, event: dict[str, Any]) -> None:
        runner = Runner.from_event(
            event, self.executor_key, self.reporter, self.settings(), self._launcher
        )
        eid = runner.payload.execution_id
        with self._lock:
            self._runners[eid] = runner
            self._futures[eid] = self._pool.submit(self._run, eid, runner)

    def _run(self, eid: str, runner: Runner) -> None:
        try:
            runner.run()
        except Exception:
            self.log.exception("execution %s: the runner failed", eid)
        finally:
            with self._lock:
                self._runners.pop(eid, None)
                self._futures.pop(eid, None)

    def cancel(self, execution_id: str) -> bool:
        with self._lock:
            runner = self._runners.get(execution_id)
            future = self._futures.get(execution_id)
        if runner is None:
            return False
        runner.cancel()
        if future is not None and future.cancel():
            self.reporter.run_finished(execution_id, CANCELLED, "cancelled before it started")
            with self._lock:
                self._runners.pop(execution_id, None)
                self._futures.pop(execution_id, None)
        return True

    def shutdown(self) -> None:
        """End every run now: running steps are killed, queued runs never start; all end
        `failed` with a message that says the server stopped (not `cancelled`: nobody asked)."""
        with self._lock:
            held = [(eid, runner, self._futures.get(eid)) for eid, runner in self._runners.items()]
        for eid, runner, future in held:
            runner.cancel(reason=SHUTDOWN_REASON)
            if future is not None and future.cancel():
                try:
                    self.reporter.run_finished(eid, FAILED, f"{SHUTDOWN_REASON} before it started")
                except Exception:  # the next start's recovery will mark it
                    self.log.exception("execution %s: could not record the shutdown", eid)
        self._pool.shutdown(wait=True, cancel_futures=True)
        if isinstance(self._launcher, ForkServer):
            self._launcher.close()
