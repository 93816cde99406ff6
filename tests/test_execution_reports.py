"""The report route remote workers use (`POST /dx/api/runtime/executions/{id}/report`), and the
worker-side task run in this process against a real server, without a Dask cluster.

The server holds runs in a `HoldingExecutor` (keeps the sealed events, runs nothing), so each
test plays the remote worker: it opens the event with the executor key to learn the
execution's token, or runs `dask_worker.run_execution` itself in a thread.
"""
from __future__ import annotations

import asyncio
import base64
import os
from datetime import datetime, timezone
from typing import Any

import pytest

from dx_jupyter.executors.base import Executor
from dx_jupyter.executors.dask_worker import KEY_ENV, KEY_FILE_ENV, REFUSED, WorkerKeyError, run_execution, worker_executor_key
from dx_jupyter.run_events import open_run_event
from dx_jupyter.run_reports import HttpReporter, RunRefused, result_from_json, result_to_json
from dx_jupyter.runner import StepResult
from executions_support import SEED_SCRIPT, SEED_SECRETS, make_package, output, start

EXECUTOR_KEY = os.urandom(32)
EXECUTOR_KEY_B64 = base64.b64encode(EXECUTOR_KEY).decode()


class HoldingExecutor(Executor):
    """Keeps the run events it is given; runs nothing. Cancel marks a cancel request, as the
    Dask executor does for a run that is on a worker."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events: dict[str, dict[str, Any]] = {}
        self.cancels: set[str] = set()

    def submit(self, event: dict[str, Any]) -> None:
        self.events[event["data"]["execution_id"]] = event

    def cancel(self, execution_id: str) -> bool:
        if execution_id not in self.events:
            return False
        self.cancels.add(execution_id)
        return True

    def cancel_requested(self, execution_id: str) -> bool:
        return execution_id in self.cancels

    def shutdown(self) -> None:
        pass


@pytest.fixture
def dx_config():
    return {"executor_class": HoldingExecutor, "executor_key": EXECUTOR_KEY_B64}


async def _held_run(dx_api, dx_core, scripts=None, secrets=None) -> tuple[dict, Any, dict]:
    await make_package(dx_api, scripts or {"test_secrets.py": SEED_SCRIPT},
                       secrets=SEED_SECRETS if secrets is None else secrets)
    execution = await start(dx_api)
    event = dx_core.executor.events[execution["id"]]
    return execution, open_run_event(event, EXECUTOR_KEY), event


def _reporter(dx_core, execution_id: str, token: str, **kw: Any) -> HttpReporter:
    kw.setdefault("heartbeat", 0)
    kw.setdefault("retry_for", 2.0)
    return HttpReporter(dx_core.api_url, execution_id, token, **kw)


async def _post(reporter: HttpReporter, body: dict) -> tuple[int, dict]:
    """One report over real HTTP, from a thread (as a worker would), without Jupyter auth."""
    return await asyncio.to_thread(reporter._post_once, body)


def _result(number: int, output: str = "out\n", status: str = "completed") -> dict:
    now = datetime.now(timezone.utc)
    return result_to_json(StepResult(number, status, 0, output, False, True, now, now, 0.01))


# ----- the route's rules -----
async def test_a_worker_reports_a_whole_run_and_the_server_records_it(dx_api, dx_core):
    execution, payload, _ = await _held_run(dx_api, dx_core)
    eid = execution["id"]
    rep = _reporter(dx_core, eid, payload.token)
    assert await _post(rep, {"event": "run_started"}) == (200, {"ok": True, "cancel": False})
    assert (await dx_api(f"executions/{eid}"))[1]["status"] == "in_progress"
    assert (await _post(rep, {"event": "step_started", "number": 1}))[0] == 200
    assert (await dx_api(f"executions/{eid}"))[1]["steps"][0]["status"] == "in_progress"
    assert (await _post(rep, {"event": "heartbeat"}))[0] == 200
    code, _ = await _post(rep, {"event": "step_finished", "result": _result(1, "DB NAME: [REDACTED]\n")})
    assert code == 200
    assert (await output(dx_api, eid))["output"] == "DB NAME: [REDACTED]\n"
    assert (await _post(rep, {"event": "run_finished", "status": "completed", "message": ""}))[0] == 200
    done = (await dx_api(f"executions/{eid}"))[1]
    assert done["status"] == "completed" and done["steps"][0]["status"] == "completed"
    code, body = await _post(rep, {"event": "heartbeat"})
    assert code == 403 and "ended" in body["message"]  # the token died with its execution


async def test_a_token_of_another_execution_is_refused(dx_api, dx_core):
    first, payload, _ = await _held_run(dx_api, dx_core)
    second = await start(dx_api)
    rep = _reporter(dx_core, second["id"], payload.token)  # first's token, second's URL
    code, body = await _post(rep, {"event": "run_started"})
    assert code == 403 and "another execution" in body["message"]
    assert (await dx_api(f"executions/{second['id']}"))[1]["status"] == "pending"


@pytest.mark.parametrize("token", ["", "not-a-token"])
async def test_a_missing_or_unknown_token_is_refused(dx_api, dx_core, token):
    execution, _, _ = await _held_run(dx_api, dx_core)
    rep = _reporter(dx_core, execution["id"], token)
    code, body = await _post(rep, {"event": "run_started"})
    assert code == 403, body
    assert (await dx_api(f"executions/{execution['id']}"))[1]["status"] == "pending"


async def test_a_second_run_started_is_refused_so_a_run_never_executes_twice(dx_api, dx_core):
    execution, payload, _ = await _held_run(dx_api, dx_core)
    rep = _reporter(dx_core, execution["id"], payload.token)
    assert (await _post(rep, {"event": "run_started"}))[0] == 200
    code, body = await _post(rep, {"event": "run_started"})
    assert code == 409 and "no longer pending" in body["message"]
    with pytest.raises(RunRefused, match="409"):
        await asyncio.to_thread(rep.run_started, execution["id"])


async def test_step_reports_before_run_started_are_refused(dx_api, dx_core):
    execution, payload, _ = await _held_run(dx_api, dx_core)
    rep = _reporter(dx_core, execution["id"], payload.token)
    code, body = await _post(rep, {"event": "step_started", "number": 1})
    assert code == 409 and "pending" in body["message"]


@pytest.mark.parametrize("body, message", [
    ({"event": "explode"}, '"event" among'),
    ({"event": "step_started", "number": 7}, "has no step 7"),
    ({"event": "step_started", "number": True}, "has no step True"),
    ({"event": "step_finished", "result": {"number": 1}}, "result.status"),
    ({"event": "step_finished", "result": "nope"}, "must be a JSON object"),
    ({"event": "run_finished", "status": "done"}, "status must be one of"),
    ({"event": "run_finished", "status": "failed", "message": 3}, "message must be a string"),
])
async def test_bad_reports_are_400_saying_what_is_wrong(dx_api, dx_core, body, message):
    execution, payload, _ = await _held_run(dx_api, dx_core)
    rep = _reporter(dx_core, execution["id"], payload.token)
    assert (await _post(rep, {"event": "run_started"}))[0] == 200
    code, answer = await _post(rep, body)
    assert code == 400 and message in answer["message"], answer
    assert (await dx_api(f"executions/{execution['id']}"))[1]["status"] == "in_progress"


async def test_a_step_result_over_the_bound_is_413(dx_api, dx_core):
    execution, payload, _ = await _held_run(dx_api, dx_core)
    rep = _reporter(dx_core, execution["id"], payload.token)
    await _post(rep, {"event": "run_started"})
    huge = "x" * (dx_core.executor.max_output_bytes * 4 + 64 * 1024 + 1)
    code, answer = await _post(rep, {"event": "step_finished", "result": _result(1, huge)})
    assert code == 413, answer


async def test_a_cancel_reaches_the_worker_in_the_answer_to_its_next_report(dx_api, dx_core):
    execution, payload, _ = await _held_run(dx_api, dx_core)
    rep = _reporter(dx_core, execution["id"], payload.token)
    await _post(rep, {"event": "run_started"})
    status, _ = await dx_api(f"executions/{execution['id']}/cancel", "POST")
    assert status == 202
    assert await _post(rep, {"event": "heartbeat"}) == (200, {"ok": True, "cancel": True})


# ----- the worker-side task, in this process -----
@pytest.fixture
def worker_env(monkeypatch):
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.setenv(KEY_ENV, EXECUTOR_KEY_B64)


def _settings(launcher: str = "subprocess") -> dict:
    return {"run": {"step_timeout": 60.0}, "launcher": launcher, "heartbeat": 0.2, "retry_for": 5.0}


async def test_the_worker_task_runs_the_seed_package_and_a_rerun_is_refused(dx_api, dx_core, worker_env):
    execution, _, event = await _held_run(dx_api, dx_core)
    eid = execution["id"]
    summary = await asyncio.to_thread(run_execution, event, _settings())
    assert summary["status"] == "completed", summary
    done = (await dx_api(f"executions/{eid}"))[1]
    assert done["status"] == "completed"
    result = await output(dx_api, eid)
    assert result["output"] == "DB NAME: [REDACTED]\nDB PASS: [REDACTED]\nPACKAGE NAME: pkg\n"

    again = await asyncio.to_thread(run_execution, event, _settings())  # Dask re-scheduling it
    assert again["status"] == REFUSED
    assert (await dx_api(f"executions/{eid}"))[1] == done
    assert (await output(dx_api, eid)) == result


async def test_the_worker_task_stops_a_running_step_when_the_server_says_cancel(dx_api, dx_core, worker_env):
    scripts = {"slow.py": "import time\nprint('working', flush=True)\ntime.sleep(120)\n"}
    execution, _, event = await _held_run(dx_api, dx_core, scripts, secrets={})
    task = asyncio.create_task(asyncio.to_thread(run_execution, event, _settings()))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while (await dx_api(f"executions/{execution['id']}"))[1]["steps"][0]["status"] != "in_progress":
        assert loop.time() < deadline
        await asyncio.sleep(0.05)
    await dx_api(f"executions/{execution['id']}/cancel", "POST")
    summary = await asyncio.wait_for(task, 30)
    assert summary["status"] == "cancelled", summary
    done = (await dx_api(f"executions/{execution['id']}"))[1]
    assert done["status"] == "cancelled"
    assert done["status_message"] == "cancelled during step 1 (slow.py)"
    assert "was cancelled" in (await output(dx_api, execution["id"]))["output"]


async def test_an_execution_that_ended_on_the_server_stops_its_worker(dx_api, dx_core, worker_env):
    scripts = {"slow.py": "import time\nprint('working', flush=True)\ntime.sleep(120)\n"}
    execution, _, event = await _held_run(dx_api, dx_core, scripts, secrets={})
    task = asyncio.create_task(asyncio.to_thread(run_execution, event, _settings()))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while (await dx_api(f"executions/{execution['id']}"))[1]["steps"][0]["status"] != "in_progress":
        assert loop.time() < deadline
        await asyncio.sleep(0.05)
    # e.g. a server restart's recovery: the execution is failed there, its token is gone
    await asyncio.to_thread(dx_core.executions.run_finished, execution["id"], "failed", "ended on the server")
    summary = await asyncio.wait_for(task, 30)
    assert "refused the report (HTTP 403)" in summary["stopped"]
    done = (await dx_api(f"executions/{execution['id']}"))[1]
    assert (done["status"], done["status_message"]) == ("failed", "ended on the server")


# ----- units -----
def test_step_results_round_trip_through_json():
    now = datetime.now(timezone.utc)
    result = StepResult(2, "failed", 3, "a\nb", True, False, now, now, 1.5, "step 2 (x.py) exited with code 3")
    assert result_from_json(result_to_json(result)) == result


@pytest.mark.parametrize("change, message", [
    ({"number": True}, "result.number"),
    ({"exit_code": "0"}, "result.exit_code"),
    ({"started_at": "yesterday"}, "not an ISO 8601"),
    ({"finished_at": "2026-01-01T00:00:00"}, "needs a time zone"),
    ({"duration": None}, "result.duration"),
])
def test_bad_step_results_name_the_field(change, message):
    data = {**_result(1), **change}
    with pytest.raises(ValueError, match=message):
        result_from_json(data)


def test_a_worker_without_an_executor_key_says_how_to_provision_it(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    with pytest.raises(WorkerKeyError, match="set DX_EXECUTOR_KEY .* or DX_EXECUTOR_KEY_FILE"):
        worker_executor_key()


def test_the_worker_reads_its_key_file(monkeypatch, tmp_path):
    path = tmp_path / "executor.key"
    path.write_text(EXECUTOR_KEY_B64 + "\n")
    path.chmod(0o600)
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv(KEY_FILE_ENV, str(path))
    assert worker_executor_key() == EXECUTOR_KEY


def test_a_malformed_worker_key_is_a_clear_error_without_the_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "c2hvcnQ=")
    with pytest.raises(WorkerKeyError, match="32 bytes") as caught:
        worker_executor_key()
    assert "c2hvcnQ=" not in str(caught.value)
