"""The Runner on its own (no server, no store): what it reports to a RunReporter, with each launcher.

This is the contract another executor (Dask) relies on: events in, reporter calls out.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from dx_jupyter.forkserver import ForkServer
from dx_jupyter.run_events import RunScript, build_run_event, open_run_event
from dx_jupyter.runner import Runner, RunSettings, StepResult, SubprocessLauncher, step_environment

REPO = Path(__file__).resolve().parents[1]
KEY = os.urandom(32)


class Recorder:
    """A RunReporter that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.results: dict[int, StepResult] = {}
        self.done = threading.Event()

    def run_started(self, execution_id: str) -> None:
        self.calls.append(("run_started", execution_id))

    def step_started(self, execution_id: str, number: int) -> None:
        self.calls.append(("step_started", number))

    def step_finished(self, execution_id: str, result: StepResult) -> None:
        self.calls.append(("step_finished", result.number, result.status))
        self.results[result.number] = result

    def run_finished(self, execution_id: str, status: str, message: str) -> None:
        self.calls.append(("run_finished", status, message))
        self.done.set()


@pytest.fixture(params=["subprocess", "forkserver"])
def launcher(request, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    if request.param == "subprocess":
        yield SubprocessLauncher(sys.executable)
        return
    server = ForkServer(sys.executable, step_environment())
    try:
        yield server
    finally:
        server.close()


def event(*sources: str, secrets=None, token="tok-1234567890") -> dict:
    return build_run_event(
        execution_id="e" * 32,
        package={"id": "p1", "name": "pkg"},
        project={"id": "j1", "name": "demo"},
        params={"package_name": "pkg"},
        config={},
        scripts=[RunScript(i, f"s{i}.py", src) for i, src in enumerate(sources, 1)],
        secrets=secrets or {"package": {"PW": "runner-secret-1"}, "project": {}, "platform": {}},
        token=token,
        api_url=None,
        executor_key=KEY,
    )


def runner(ev: dict, launcher, **settings) -> tuple[Runner, Recorder]:
    rec = Recorder()
    return Runner.from_event(ev, KEY, rec, RunSettings(**settings), launcher), rec


def test_event_carries_secrets_and_token_only_sealed():
    ev = event("pass\n")
    text = str(ev)
    assert "runner-secret-1" not in text and "tok-1234567890" not in text
    payload = open_run_event(ev, KEY)
    assert payload.secrets["package"]["PW"] == "runner-secret-1" and payload.token == "tok-1234567890"


def test_runner_reports_each_step_in_order_then_the_run(launcher):
    r, rec = runner(event("print('a')\n", "print('b')\n"), launcher)
    assert r.run() == "completed"
    assert rec.calls == [
        ("run_started", "e" * 32),
        ("step_started", 1), ("step_finished", 1, "completed"),
        ("step_started", 2), ("step_finished", 2, "completed"),
        ("run_finished", "completed", ""),
    ]
    assert rec.results[1].output == "a\n" and rec.results[2].output == "b\n"


def test_runner_masks_secrets_and_token_in_what_it_reports(launcher):
    source = (
        "from ferris_ef import get_secret\nfrom ferris_ef._context import current_backend\n"
        "print(get_secret('PW'), current_backend()._token)\n"
    )
    r, rec = runner(event(source), launcher)
    r.run()
    assert rec.results[1].output == "[REDACTED] [REDACTED]\n" and rec.results[1].redacted


def test_runner_with_redaction_off_reports_output_as_printed(launcher):
    r, rec = runner(event("from ferris_ef import get_secret\nprint(get_secret('PW'))\n"), launcher, redact=False)
    r.run()
    assert rec.results[1].output == "runner-secret-1\n" and not rec.results[1].redacted


def test_cancel_before_run_reports_cancelled_without_starting(launcher):
    r, rec = runner(event("print('x')\n"), launcher)
    r.cancel()
    assert r.run() == "cancelled"
    assert rec.calls == [("run_finished", "cancelled", "cancelled before it started")]


def test_cancel_during_a_step_kills_it_and_skips_the_rest(launcher):
    r, rec = runner(event("import time\ntime.sleep(60)\n", "print('never')\n"), launcher)
    worker = threading.Thread(target=r.run)
    worker.start()
    _wait(lambda: ("step_started", 1) in rec.calls)
    time.sleep(0.2)
    r.cancel()
    worker.join(20)
    assert not worker.is_alive()
    assert rec.calls[-1] == ("run_finished", "cancelled", "cancelled during step 1 (s1.py)")
    assert ("step_started", 2) not in rec.calls
    assert rec.results[1].status == "failed"


def test_cancel_with_a_reason_ends_the_run_failed_with_it(launcher):
    r, rec = runner(event("import time\ntime.sleep(60)\n"), launcher)
    worker = threading.Thread(target=r.run)
    worker.start()
    _wait(lambda: ("step_started", 1) in rec.calls)
    time.sleep(0.2)
    r.cancel(reason="the server stopped")
    worker.join(20)
    assert rec.calls[-1] == ("run_finished", "failed", "the server stopped during step 1 (s1.py)")
    assert "[step 1 (s1.py) was stopped: the server stopped]" in rec.results[1].output


def test_a_launch_failure_ends_the_run_failed_not_in_progress():
    class Broken:
        def launch(self, *args):
            raise OSError("cannot start a process")

    r, rec = runner(event("print('x')\n"), Broken())
    assert r.run() == "failed"
    assert rec.calls[-1][0:2] == ("run_finished", "failed")
    assert "cannot start a process" in rec.calls[-1][2]


def _wait(predicate, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.02)
