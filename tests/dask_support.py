"""A real Dask cluster on 127.0.0.1 for tests and benchmarks: a `dask scheduler` process and
`dask worker` processes (no LocalCluster), each started by us and stopped by its process id.

The scheduler runs with `allowed-failures` 0 (a worker that dies fails its task at once, with
KilledWorker) and the `CaptureRunSpecs` plugin, which keeps the serialized form of every
dx run task the scheduler receives, so a test can search it for plaintext. Workers get the
executor key in their environment (`DX_EXECUTOR_KEY`), never the master key, and the project on
PYTHONPATH. Nothing listens beyond loopback and no dashboard is started.

This module is imported by the scheduler process too (for the plugin): keep it light.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

from distributed.diagnostics.plugin import SchedulerPlugin

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
PLUGIN_NAME = "dx-capture-run-specs"
TASK_PREFIX = "dx-run-"


# ----------------------------------------------------------------------------- scheduler side
class CaptureRunSpecs(SchedulerPlugin):
    """Keeps, per dx run task, the pickled run spec the scheduler holds and the worker that ran it."""

    name = PLUGIN_NAME

    def __init__(self) -> None:
        self.specs: dict[str, bytes] = {}
        self.ran_on: dict[str, str] = {}

    def update_graph(self, scheduler: Any, *, tasks: Any = (), **kwargs: Any) -> None:
        from distributed.protocol.pickle import dumps

        for key in tasks:
            if str(key).startswith(TASK_PREFIX):
                ts = scheduler.tasks.get(key)
                if ts is not None:
                    self.specs[str(key)] = dumps(ts.run_spec)

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if str(key).startswith(TASK_PREFIX) and finish == "memory" and kwargs.get("worker"):
            self.ran_on[str(key)] = kwargs["worker"]


def captured(dask_scheduler: Any) -> dict[str, Any]:
    """For client.run_on_scheduler: what CaptureRunSpecs holds."""
    plugin = dask_scheduler.plugins[PLUGIN_NAME]
    return {"specs": dict(plugin.specs), "ran_on": dict(plugin.ran_on)}


def install_capture(dask_scheduler: Any) -> None:
    """For client.run_on_scheduler: add the plugin (idempotent)."""
    if PLUGIN_NAME not in dask_scheduler.plugins:
        dask_scheduler.add_plugin(CaptureRunSpecs())


# ----------------------------------------------------------------------------- processes
def _env(extra: dict[str, str], allowed_failures: int = 0) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DX_MASTER_KEY", "DX_EXECUTOR_KEY")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(TESTS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = str(allowed_failures)
    env.update(extra)
    return env


def _stop(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Stop one process we started, by its pid: SIGTERM, then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)
    except ProcessLookupError:
        pass


class DaskCluster:
    """`start()`; `address`; `add_worker(...)`; `kill(proc)`; `stop()` (always, even on failure)."""

    def __init__(self, folder: Path, executor_key_b64: str, workers: int = 2, allowed_failures: int = 0) -> None:
        self.allowed_failures = allowed_failures
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.key = executor_key_b64
        self.n_workers = workers
        self.scheduler: Optional[subprocess.Popen] = None
        self.workers: list[subprocess.Popen] = []
        self.address = ""
        self._logs: list[Any] = []

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")
        self._logs.append(log)
        return subprocess.Popen(
            args, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            cwd=self.folder,
        )

    def log_text(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self, timeout: float = 60.0) -> "DaskCluster":
        scheduler_file = self.folder / "scheduler.json"
        self.scheduler = self._spawn(
            "scheduler",
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
             "--port", "0", "--no-dashboard", "--no-jupyter", "--scheduler-file", str(scheduler_file),
             "--preload", "dask_support"],
            _env({}, self.allowed_failures),
        )
        deadline = time.monotonic() + timeout
        while not self.address:
            if self.scheduler.poll() is not None:
                raise RuntimeError(f"dask scheduler exited:\n{self.log_text('scheduler')[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"dask scheduler not ready:\n{self.log_text('scheduler')[-3000:]}")
            try:
                self.address = json.loads(scheduler_file.read_text())["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.05)
        for i in range(self.n_workers):
            self.add_worker(f"w{i + 1}")
        if self.n_workers:
            self.wait_for_workers(self.n_workers, timeout)
        return self

    def add_worker(self, name: str, resources: str = "", key: Optional[str] = None) -> subprocess.Popen:
        args = [sys.executable, "-m", "distributed.cli.dask_worker", self.address, "--host", "127.0.0.1",
                "--nthreads", "1", "--no-nanny", "--no-dashboard", "--name", name,
                "--local-directory", str(self.folder / f"{name}-space"), "--death-timeout", "60"]
        if resources:
            args += ["--resources", resources]
        env = _env({"DX_EXECUTOR_KEY": self.key if key is None else key})
        proc = self._spawn(name, args, env)
        self.workers.append(proc)
        return proc

    def client(self) -> Any:
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False)

    def wait_for_workers(self, n: int, timeout: float = 60.0) -> None:
        with self.client() as client:
            client.wait_for_workers(n, timeout=timeout)

    def captured(self) -> dict[str, Any]:
        with self.client() as client:
            return client.run_on_scheduler(captured)

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL one worker process by its pid, as a machine failure would."""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        for proc in self.workers:
            _stop(proc)
        if self.scheduler is not None:
            _stop(self.scheduler)
        for log in self._logs:
            log.close()


def dask_setup(scheduler: Any) -> None:
    """`--preload dask_support` on the scheduler: install the capture plugin at start."""
    install_capture(scheduler)
