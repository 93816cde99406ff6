"""Running one execution's scripts, each in its own process, on whichever machine executes it.

Holds no SQL and no HTTP: it opens the run event with the executor key, hands each script its
payload (secrets included) through an inherited pipe, and reports progress to a `RunReporter`.
Secrets never reach argv, the environment or a file; output is redacted before it is reported.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

from .redaction import DEFAULT_MIN_LENGTH, Redactor
from .run_events import RunPayload, open_run_event

# Never inherited by a script: keys and tokens of the server process.
_SCRUBBED_ENV = ("DX_MASTER_KEY", "DX_EXECUTOR_KEY", "DX_KERNEL_TOKEN", "JUPYTER_TOKEN", "JPY_API_TOKEN")
_SCRUBBED_PREFIXES = ("JPY_", "JUPYTERHUB_")

COMPLETED, FAILED, CANCELLED = "completed", "failed", "cancelled"


@dataclass(frozen=True)
class RunSettings:
    step_timeout: float = 3600.0
    max_output_bytes: int = 1024 * 1024
    redact: bool = True
    redact_min_length: int = DEFAULT_MIN_LENGTH
    python: str = sys.executable


@dataclass(frozen=True)
class StepResult:
    number: int
    status: str
    exit_code: Optional[int]
    output: str
    truncated: bool
    redacted: bool
    started_at: datetime
    finished_at: datetime
    duration: float
    message: str = ""


class StepProcess(Protocol):
    """What a runner needs of a step's process (`subprocess.Popen` has it)."""

    pid: int
    stdout: Any
    returncode: Optional[int]

    def wait(self, timeout: Optional[float] = None) -> int: ...


class Launcher(Protocol):
    def launch(self, script: str, cwd: str, env: dict[str, str], payload_fd: int) -> StepProcess: ...


class SubprocessLauncher:
    """A fresh interpreter per step: `python -m ferris_ef.launch --payload-fd N script.py`."""

    def __init__(self, python: str = sys.executable) -> None:
        self.python = python

    def launch(self, script: str, cwd: str, env: dict[str, str], payload_fd: int) -> subprocess.Popen:
        return subprocess.Popen(
            [self.python, "-m", "ferris_ef.launch", "--payload-fd", str(payload_fd), script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(payload_fd,),
            cwd=cwd,
            env=env,
            start_new_session=True,
        )


class RunReporter(Protocol):
    """Where a runner reports progress: the store locally, a channel back for remote workers."""

    def run_started(self, execution_id: str) -> None: ...

    def step_started(self, execution_id: str, number: int) -> None: ...

    def step_finished(self, execution_id: str, result: StepResult) -> None: ...

    def run_finished(self, execution_id: str, status: str, message: str) -> None: ...


def step_environment() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _SCRUBBED_ENV and not k.startswith(_SCRUBBED_PREFIXES)
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("EF_ENV", None)
    return env


class _Capture(threading.Thread):
    """Drains a process's merged stdout/stderr, keeping at most `limit + slack` bytes.

    The `slack` bytes past the limit are kept only so that a secret value straddling the limit
    can be masked whole; `truncated` says whether more than `limit` bytes came.
    """

    def __init__(self, stream: Any, limit: int, slack: int = 0) -> None:
        super().__init__(daemon=True)
        self.stream, self.limit = stream, limit
        self.keep = limit + max(0, slack)
        self.chunks: list[bytes] = []
        self.size = 0
        self.total = 0
        self._deadline: Optional[float] = None

    @property
    def truncated(self) -> bool:
        return self.total > self.limit

    def run(self) -> None:
        fd = self.stream.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        while True:
            deadline = self._deadline
            if deadline is not None and time.monotonic() >= deadline:
                return  # a process outside the step's group still holds the pipe
            if not poller.poll(100):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            self.total += len(chunk)
            room = self.keep - self.size
            if room > 0:
                self.chunks.append(chunk[:room])
                self.size += min(len(chunk), room)

    def finish(self, grace: float) -> None:
        """Wait for the end of the output, at most `grace` seconds more; the thread has ended."""
        self._deadline = time.monotonic() + grace
        self.join()

    def data(self) -> bytes:
        return b"".join(self.chunks)


def _write_all(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        pass
    finally:
        os.close(fd)


def kill_group(proc: "StepProcess") -> None:
    """Kill the step's whole process group (it leads its own session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def kill_leftovers(pgid: int) -> None:
    """Kill what is left of a finished step's process group (background children).

    Only the group: the step's own pid has been reaped and may belong to someone else now.
    """
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _utf8_boundary(data: bytes, cut: int) -> int:
    """`cut` moved back to the start of the UTF-8 character it falls in."""
    while 0 < cut < len(data) and data[cut] & 0xC0 == 0x80:
        cut -= 1
    return cut


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Runner:
    """Runs one opened event. `cancel()` may be called from another thread."""

    def __init__(
        self,
        payload: RunPayload,
        reporter: RunReporter,
        settings: RunSettings,
        launcher: Optional[Launcher] = None,
    ) -> None:
        self.payload = payload
        self.launcher = launcher or SubprocessLauncher(settings.python)
        self.reporter = reporter
        self.settings = settings
        self._cancelled = threading.Event()
        self._stop_reason: Optional[str] = None
        self._proc: Optional[StepProcess] = None
        self._lock = threading.Lock()
        # Every value in the payload, shadowed ones too (the script process holds them all),
        # and the execution's token.
        values: list[Any] = []
        if settings.redact:
            values = [v for scope in payload.secrets.values() for v in scope.values()]
            values += [payload.token] if payload.token else []
        self._redactor = Redactor(values, settings.redact_min_length)

    @classmethod
    def from_event(
        cls,
        event: dict[str, Any],
        executor_key: bytes,
        reporter: RunReporter,
        settings: RunSettings,
        launcher: Optional[Launcher] = None,
    ) -> "Runner":
        return cls(open_run_event(event, executor_key), reporter, settings, launcher)

    def cancel(self, reason: Optional[str] = None) -> None:
        """Stop the run: kill the running step's process group, skip the steps after it.

        Without a `reason` the run ends `cancelled` (a user asked). With one, e.g. "the server
        stopped", it ends `failed` with a message that starts with the reason.
        """
        if reason and not self._cancelled.is_set():
            self._stop_reason = reason
        self._cancelled.set()
        with self._lock:
            if self._proc is not None:
                kill_group(self._proc)

    def _stopped(self, where: str) -> tuple[str, str]:
        if self._stop_reason:
            return FAILED, f"{self._stop_reason} {where}"
        return CANCELLED, f"cancelled {where}"

    def run(self) -> str:
        eid = self.payload.execution_id
        if self._cancelled.is_set():
            status, message = self._stopped("before it started")
            self.reporter.run_finished(eid, status, message)
            return status
        self.reporter.run_started(eid)
        workdir = Path(tempfile.mkdtemp(prefix="dx-exec-"))
        try:
            status, message = self._run_steps(workdir)
        except Exception as err:  # a runner fault must not leave the execution in progress
            status, message = FAILED, f"the executor failed: {type(err).__name__}: {err}"
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        self.reporter.run_finished(eid, status, message)
        return status

    def _run_steps(self, workdir: Path) -> tuple[str, str]:
        for script in self.payload.scripts:
            (workdir / script.name).write_text(script.source, encoding="utf-8")
        for script in self.payload.scripts:
            if self._cancelled.is_set():
                return self._stopped(f"before step {script.number} ({script.name})")
            self.reporter.step_started(self.payload.execution_id, script.number)
            result = self._run_step(workdir, script.number, workdir / script.name)
            self.reporter.step_finished(self.payload.execution_id, result)
            if self._cancelled.is_set():
                return self._stopped(f"during step {script.number} ({script.name})")
            if result.status != COMPLETED:
                return FAILED, result.message
        return COMPLETED, ""

    def _spawn(self, workdir: Path, path: Path) -> tuple[StepProcess, int]:
        read_fd, write_fd = os.pipe()
        try:
            proc = self.launcher.launch(str(path), str(workdir), step_environment(), read_fd)
        except BaseException:
            os.close(write_fd)
            raise
        finally:
            os.close(read_fd)
        return proc, write_fd

    def _run_step(self, workdir: Path, number: int, path: Path) -> StepResult:
        started, t0 = _now(), time.monotonic()
        proc, write_fd = self._spawn(workdir, path)
        with self._lock:
            self._proc = proc
        if self._cancelled.is_set():
            kill_group(proc)
        data = json.dumps(self.payload.step_payload(number)).encode()
        threading.Thread(target=_write_all, args=(write_fd, data), daemon=True).start()
        # slack: room to mask a value straddling the limit whole, and to see a character split by it
        capture = _Capture(proc.stdout, self.settings.max_output_bytes, self._redactor.longest_bytes + 4)
        capture.start()
        timed_out = False
        try:
            proc.wait(timeout=self.settings.step_timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(proc)
            proc.wait()
        with self._lock:
            self._proc = None
        kill_leftovers(proc.pid)
        capture.finish(grace=2.0)
        proc.stdout.close()
        return self._result(number, path.name, proc.returncode, capture, timed_out, started, t0)

    def _output(self, capture: _Capture) -> str:
        """The step's output, masked, cut at the byte limit without cutting a value in two."""
        data = capture.data()
        if not capture.truncated:
            return self._redactor.redact(data.decode("utf-8", errors="replace"))
        cut = _utf8_boundary(data, capture.limit)
        head = data[:cut].decode("utf-8", errors="replace")
        text = head + data[cut:].decode("utf-8", errors="replace")
        return self._redactor.redact_head(text, len(head)) + (
            f"\n[output truncated at {self.settings.max_output_bytes} bytes]\n"
        )

    def _result(
        self, number: int, name: str, code: int, capture: _Capture, timed_out: bool,
        started: datetime, t0: float,
    ) -> StepResult:
        output = self._output(capture)
        if timed_out:
            message = f"step {number} ({name}) timed out after {self.settings.step_timeout:g} s"
        elif self._cancelled.is_set():
            message = f"step {number} ({name}) was " + (
                f"stopped: {self._stop_reason}" if self._stop_reason else "cancelled"
            )
        elif code != 0:
            message = f"step {number} ({name}) exited with code {code}"
        else:
            message = ""
        if message:
            note = f"\n[{message}]\n" if output and not output.endswith("\n") else f"[{message}]\n"
            output += self._redactor.redact(note)
        return StepResult(
            number=number,
            status=COMPLETED if not message else FAILED,
            exit_code=code,
            output=output,
            truncated=capture.truncated,
            redacted=self.settings.redact,
            started_at=started,
            finished_at=_now(),
            duration=time.monotonic() - t0,
            message=message,
        )


RunnerFactory = Callable[[dict[str, Any]], Runner]
