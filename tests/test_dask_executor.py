"""The Dask executor against a real cluster: a `dask scheduler` and two `dask worker` processes on
127.0.0.1 (tests/dask_support.py), started for this module and stopped by their pids.

The Jupyter server runs with `executor_class = DaskExecutor`; workers hold the executor key in
their environment (never the master key) and report progress straight to the server over HTTP.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
from pathlib import Path

import pytest

from dask_support import DaskCluster
from executions_support import SEED_SCRIPT, make_package, output, start, wait_for, wait_for_file, wait_for_step

pytestmark = pytest.mark.dask

EXECUTOR_KEY_B64 = base64.b64encode(os.urandom(32)).decode()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    cluster = DaskCluster(tmp_path_factory.mktemp("dask"), EXECUTOR_KEY_B64, workers=2)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def dask_executor_config() -> dict:
    """Extra `DaskExecutor` traits for one test."""
    return {}


@pytest.fixture
def dx_config():
    return {"executor_class": "dx_jupyter.executors.dask.DaskExecutor", "executor_key": EXECUTOR_KEY_B64}


@pytest.fixture
def scheduler_address(dask_cluster) -> str:
    return dask_cluster.address


@pytest.fixture
def jp_server_config(jp_server_config, scheduler_address, dask_executor_config):
    return {
        **jp_server_config,
        "DaskExecutor": {"scheduler_address": scheduler_address, "heartbeat_interval": 0.3,
                         **dask_executor_config},
    }


def _canary(prefix: str) -> str:
    return f"{prefix}-{os.urandom(12).hex()}"


def _forms(value: str) -> set[bytes]:
    """Raw, JSON-escaped and base64 (three alignments) forms of a value."""
    raw = value.encode()
    forms = {raw, json.dumps(value)[1:-1].encode()}
    for shift in range(3):
        encoded = base64.b64encode(raw[shift:])
        forms.add(encoded[: len(encoded) - 4])
    return {f for f in forms if len(f) >= 12}


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def _until(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"{what} not met within {timeout} s"
        await asyncio.sleep(0.05)


SLOW = "import time\nprint('working', flush=True)\ntime.sleep(120)\n"


# ----- runs -----
async def test_the_seed_package_runs_on_a_worker_and_the_scheduler_never_sees_plaintext(
    dx_api, dx_core, dask_cluster
):
    canaries = {"DB_NAME": _canary("name"), "DB_PASS": _canary("pass")}
    platform_canary = _canary("platform")
    await dx_api("secrets/platform", "PUT", {"PLATFORM_CANARY": platform_canary})
    await make_package(dx_api, {"test_secrets.py": SEED_SCRIPT}, name="secrets-demo", secrets=canaries)
    execution = await start(dx_api, "secrets-demo")
    done = await wait_for(dx_api, execution["id"])
    assert done["status"] == "completed", done
    assert (await output(dx_api, execution["id"]))["output"] == (
        "DB NAME: [REDACTED]\nDB PASS: [REDACTED]\nPACKAGE NAME: secrets-demo\n"
    )

    seen = await asyncio.to_thread(dask_cluster.captured)
    key = f"dx-run-{execution['id']}"
    spec = seen["specs"][key]
    assert execution["id"].encode() in spec  # the run's own task, really inspected
    assert b"sealed" in spec and b"run_execution" in spec
    assert seen["ran_on"][key].startswith("tcp://127.0.0.1:")
    logs = [dask_cluster.log_text(name).encode() for name in ("scheduler", "w1", "w2")]
    for value in [*canaries.values(), platform_canary]:
        for form in _forms(value):
            assert form not in spec, f"a form of a secret is in the task the scheduler holds: {form!r}"
            assert all(form not in log for log in logs)


async def test_a_multi_step_package_reports_each_step_live(dx_api, dx_core, dask_cluster, tmp_path):
    gate, mark = tmp_path / "gate", tmp_path / "mark"
    scripts = {
        "1_prepare.py": "from ferris_ef import get_secret, get_param\n"
                        "print('token', get_secret('API_TOKEN'))\n",
        "2_wait.py": "import os, time, pathlib\nfrom ferris_ef import get_param\n"
                     "pathlib.Path(get_param('mark')).write_text(str(os.getpid()) + '\\n')\n"
                     "while not os.path.exists(get_param('gate')):\n    time.sleep(0.02)\n"
                     "print('went on')\n",
        "3_finish.py": "from ferris_ef import context\nprint('package', context.package.name)\n",
    }
    await make_package(dx_api, scripts, secrets={"API_TOKEN": "tok-" + os.urandom(8).hex()})
    execution = await start(dx_api, params={"gate": str(gate), "mark": str(mark)})
    live = await wait_for_step(dx_api, execution["id"], 2, "in_progress")
    assert live["status"] == "in_progress"
    assert [s["status"] for s in live["steps"]] == ["completed", "in_progress", "pending"]
    step_pid = int(await wait_for_file(mark))
    assert step_pid != os.getpid()
    first = await output(dx_api, execution["id"], 1)
    assert first["output"] == "token [REDACTED]\n"  # step 1's result is there while step 2 runs
    gate.write_text("go")
    done = await wait_for(dx_api, execution["id"])
    assert done["status"] == "completed", done
    assert [(s["number"], s["status"], s["exit_code"]) for s in done["steps"]] == [
        (1, "completed", 0), (2, "completed", 0), (3, "completed", 0)
    ]
    assert (await output(dx_api, execution["id"], 2))["output"] == "went on\n"
    assert (await output(dx_api, execution["id"], 3))["output"] == "package pkg\n"


async def test_a_failing_step_fails_the_run_and_skips_the_rest(dx_api, dask_cluster):
    await make_package(dx_api, {"a.py": "print('a')\n", "b.py": "raise SystemExit(4)\n", "c.py": "print('c')\n"})
    done = await wait_for(dx_api, (await start(dx_api))["id"])
    assert done["status"] == "failed" and done["status_message"] == "step 2 (b.py) exited with code 4"
    assert [s["status"] for s in done["steps"]] == ["completed", "failed", "unprocessed"]


# ----- cancel -----
async def test_cancel_stops_a_running_step_on_the_worker(dx_api, dask_cluster, tmp_path):
    await make_package(dx_api, {"slow.py": "import os, pathlib\nfrom ferris_ef import get_param\n"
                                          "pathlib.Path(get_param('mark')).write_text(str(os.getpid()) + '\\n')\n"
                                          + SLOW})
    mark = tmp_path / "pid"
    execution = await start(dx_api, params={"mark": str(mark)})
    await wait_for_step(dx_api, execution["id"], 1, "in_progress")
    pid = int(await wait_for_file(mark))
    status, _ = await dx_api(f"executions/{execution['id']}/cancel", "POST")
    assert status == 202
    done = await wait_for(dx_api, execution["id"], timeout=30)
    assert (done["status"], done["status_message"]) == ("cancelled", "cancelled during step 1 (slow.py)")
    assert done["steps"][0]["status"] == "failed"
    assert "[step 1 (slow.py) was cancelled]" in (await output(dx_api, execution["id"]))["output"]
    await _until(lambda: not _alive(pid), 10, "the step process to end")


async def test_cancel_of_a_queued_run_never_starts_it(dx_api, dx_core, dask_cluster):
    await make_package(dx_api, {"slow.py": SLOW})
    busy = [await start(dx_api) for _ in range(2)]  # one per worker thread
    for execution in busy:
        await wait_for_step(dx_api, execution["id"], 1, "in_progress")
    queued = await start(dx_api)
    status, answer = await dx_api(f"executions/{queued['id']}/cancel", "POST")
    assert status == 202
    assert (answer["status"], answer["status_message"]) == ("cancelled", "cancelled before it started")
    for execution in busy:
        assert (await dx_api(f"executions/{execution['id']}/cancel", "POST"))[0] == 202
    for execution in busy:
        assert (await wait_for(dx_api, execution["id"], timeout=30))["status"] == "cancelled"
    await asyncio.sleep(1.0)  # had the queued task reached a worker, it would have been refused
    after = (await dx_api(f"executions/{queued['id']}"))[1]
    assert after["status"] == "cancelled" and after["started_at"] is None
    assert [s["status"] for s in after["steps"]] == ["unprocessed"]
    await _until(lambda: not dx_core.executor.held(), 10, "the executor to release every task")


# ----- failures -----
class TestAWorkerThatDies:
    @pytest.fixture
    def dask_executor_config(self):
        return {"resources": {"doomed": 1}}  # runs go only to the worker this test kills

    async def test_it_fails_the_execution_with_a_clear_message(self, dx_api, dask_cluster, tmp_path):
        doomed = dask_cluster.add_worker("doomed", resources="doomed=1")
        await asyncio.to_thread(dask_cluster.wait_for_workers, 3)
        mark = tmp_path / "pid"
        await make_package(dx_api, {"slow.py": "import os, pathlib\nfrom ferris_ef import get_param\n"
                                              "pathlib.Path(get_param('mark')).write_text(str(os.getpid()) + '\\n')\n"
                                              + SLOW})
        execution = await start(dx_api, params={"mark": str(mark)})
        await wait_for_step(dx_api, execution["id"], 1, "in_progress")
        step_pid = int(await wait_for_file(mark))
        await asyncio.to_thread(dask_cluster.kill, doomed)
        done = await wait_for(dx_api, execution["id"], timeout=60)
        assert done["status"] == "failed"
        assert done["status_message"].startswith("the Dask worker running this execution died (tcp://127.0.0.1:")
        assert "never executes twice" in done["status_message"]
        assert done["steps"][0]["status"] == "failed"
        await _until(lambda: not _alive(step_pid), 15, "the orphaned step to be killed")


class TestAWorkerWithoutTheKey:
    @pytest.fixture
    def dask_executor_config(self):
        return {"resources": {"keyless": 1}}

    async def test_it_fails_the_execution_saying_how_to_provision_the_key(self, dx_api, dask_cluster):
        keyless = dask_cluster.add_worker("keyless", resources="keyless=1", key="")
        try:
            await asyncio.to_thread(dask_cluster.wait_for_workers, 3)
            await make_package(dx_api, {"a.py": "print('a')\n"})
            done = await wait_for(dx_api, (await start(dx_api))["id"], timeout=60)
            assert done["status"] == "failed"
            assert "WorkerKeyError: this Dask worker has no executor key" in done["status_message"]
            assert done["steps"][0]["status"] == "unprocessed"
        finally:
            await asyncio.to_thread(dask_cluster.kill, keyless)


class TestDaskRetryingARunWhoseWorkerDied:
    """With Dask's retries on (allowed-failures 1), the task of a run whose worker died is sent to
    another worker: the server refuses to start it again, so the run never executes twice, and
    the execution ends failed saying why."""

    @pytest.fixture
    def retrying_cluster(self, tmp_path):
        cluster = DaskCluster(tmp_path / "dask", EXECUTOR_KEY_B64, workers=0, allowed_failures=1)
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()

    @pytest.fixture
    def scheduler_address(self, retrying_cluster) -> str:
        return retrying_cluster.address

    async def test_the_second_attempt_is_refused_and_the_execution_fails(self, dx_api, retrying_cluster, tmp_path):
        first = retrying_cluster.add_worker("first")
        await asyncio.to_thread(retrying_cluster.wait_for_workers, 1)
        starts = tmp_path / "starts"
        await make_package(dx_api, {"slow.py": "import os\nfrom ferris_ef import get_param\n"
                                              "with open(get_param('starts'), 'a') as f:\n"
                                              "    f.write(f'{os.getpid()}\\n')\n" + SLOW})
        execution = await start(dx_api, params={"starts": str(starts)})
        await wait_for_step(dx_api, execution["id"], 1, "in_progress")
        step_pid = int(await wait_for_file(starts))
        retrying_cluster.add_worker("second")
        await asyncio.to_thread(retrying_cluster.wait_for_workers, 2)
        await asyncio.to_thread(retrying_cluster.kill, first)
        done = await wait_for(dx_api, execution["id"], timeout=60)
        assert done["status"] == "failed"
        assert "the re-scheduled attempt was refused, since a run never executes twice" in done["status_message"]
        assert "no longer pending" in done["status_message"]
        await asyncio.sleep(1.0)
        assert starts.read_text().splitlines() == [str(step_pid)]  # the step ran once, on the first worker
        await _until(lambda: not _alive(step_pid), 15, "the orphaned step to be killed")
