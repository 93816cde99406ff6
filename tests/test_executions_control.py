"""Cancelling, timing out and capping executions."""
from __future__ import annotations

import asyncio
import os
import time

import pytest

from executions_support import make_package, output, run, start, wait_for, wait_for_file

LONG_STEP = (
    "import os, time\nfrom ferris_ef import get_param\n"
    "open(get_param('pid_file'), 'w').write(f'{os.getpid()}\\n')\n"
    "print('started', flush=True)\n"
    "time.sleep(120)\n"
    "print('never')\n"
)


def gone(pid: int, timeout: float = 5.0) -> bool:
    """True once `pid` no longer exists (or is only a zombie awaiting its parent)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry))
    return members


async def test_cancel_of_a_running_step_answers_202_and_ends_cancelled(dx_api, tmp_path):
    pid_file = tmp_path / "pid"
    await make_package(dx_api, {"long.py": LONG_STEP, "after.py": "print('after')\n"})
    created = await start(dx_api, params={"pid_file": str(pid_file)})
    pid = int(await wait_for_file(pid_file))
    status, answer = await dx_api(f"executions/{created['id']}/cancel", "POST")
    assert status == 202, answer
    assert answer["id"] == created["id"]
    done = await wait_for(dx_api, created["id"], timeout=20)
    assert done["status"] == "cancelled"
    assert "cancelled" in done["status_message"] and "long.py" in done["status_message"]
    assert [s["status"] for s in done["steps"]] == ["failed", "unprocessed"]
    result = await output(dx_api, created["id"])
    assert result["output"].startswith("started\n") and "never" not in result["output"]
    assert gone(pid), f"step process {pid} is still running"


async def test_cancel_kills_the_whole_process_group_of_the_step(dx_api, tmp_path):
    pid_file = tmp_path / "pids"
    source = (
        "import os, subprocess, sys, time\nfrom ferris_ef import get_param\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "open(get_param('pid_file'), 'w').write(f'{os.getpid()} {child.pid}\\n')\n"
        "time.sleep(120)\n"
    )
    await make_package(dx_api, {"tree.py": source})
    created = await start(dx_api, params={"pid_file": str(pid_file)})
    step_pid, child_pid = map(int, (await wait_for_file(pid_file)).split())
    assert os.getpgid(step_pid) == step_pid  # the step leads its own group
    assert (await dx_api(f"executions/{created['id']}/cancel", "POST"))[0] == 202
    assert (await wait_for(dx_api, created["id"], timeout=20))["status"] == "cancelled"
    assert gone(step_pid) and gone(child_pid)
    assert group_members(step_pid) == []


async def test_cancel_of_a_finished_execution_is_409(dx_api):
    await make_package(dx_api, {"quick.py": "print('done')\n"})
    done = await run(dx_api)
    assert done["status"] == "completed"
    status, body = await dx_api(f"executions/{done['id']}/cancel", "POST")
    assert status == 409
    assert body["error"] == "conflict" and "completed" in body["message"]
    status, again = await dx_api(f"executions/{done['id']}")
    assert again["status"] == "completed"


async def test_cancel_of_an_unknown_execution_is_404(dx_api):
    status, body = await dx_api(f"executions/{'0' * 32}/cancel", "POST")
    assert status == 404 and body["error"] == "not_found"


async def test_cancelled_execution_token_stops_working(dx_api, tmp_path):
    # covered in depth by tests/test_runtime_api.py; here: a cancel ends the run's token too
    token_file = tmp_path / "token"
    source = (
        "import time\nfrom ferris_ef import get_param\nfrom ferris_ef._context import current_backend\n"
        "open(get_param('token_file'), 'w').write(current_backend()._token + '\\n')\n"
        "time.sleep(120)\n"
    )
    await make_package(dx_api, {"hold.py": source})
    created = await start(dx_api, params={"token_file": str(token_file)})
    token = await wait_for_file(token_file)
    assert (await dx_api("runtime/state", headers={"X-DX-Token": token}))[0] == 200
    assert (await dx_api(f"executions/{created['id']}/cancel", "POST"))[0] == 202
    await wait_for(dx_api, created["id"], timeout=20)
    assert (await dx_api("runtime/state", headers={"X-DX-Token": token}))[0] == 403


class TestQueue:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        jp_server_config["LocalExecutor"] = {"max_concurrent": 1}
        return jp_server_config

    async def test_cancel_of_a_queued_execution_ends_it_cancelled_without_running(self, dx_api, tmp_path):
        pid_file = tmp_path / "pid"
        ran = tmp_path / "ran"
        await make_package(dx_api, {"long.py": LONG_STEP}, name="busy")
        await make_package(dx_api, {"mark.py": (
            "from ferris_ef import get_param\nopen(get_param('ran'), 'w').write('ran\\n')\n"
        )}, name="queued")
        busy = await start(dx_api, "busy", params={"pid_file": str(pid_file)})
        await wait_for_file(pid_file)
        queued = await start(dx_api, "queued", params={"ran": str(ran)})
        await asyncio.sleep(0.2)
        status, still = await dx_api(f"executions/{queued['id']}")
        assert still["status"] == "pending"  # the one slot is taken

        status, answer = await dx_api(f"executions/{queued['id']}/cancel", "POST")
        assert status == 202, answer
        done = await wait_for(dx_api, queued["id"], timeout=10)
        assert done["status"] == "cancelled"
        assert done["status_message"] == "cancelled before it started"
        assert [s["status"] for s in done["steps"]] == ["unprocessed"]
        assert done["started_at"] is None and done["duration"] is None and done["finished_at"]

        assert (await dx_api(f"executions/{busy['id']}/cancel", "POST"))[0] == 202
        await wait_for(dx_api, busy["id"], timeout=20)
        await asyncio.sleep(0.3)
        assert not ran.exists(), "the cancelled execution ran anyway"

    async def test_queued_execution_waits_for_a_free_slot_then_runs(self, dx_api):
        await make_package(dx_api, {"s.py": "import time\ntime.sleep(0.3)\nprint('ok')\n"})
        first, second = await start(dx_api), await start(dx_api)
        await wait_for(dx_api, first["id"], ("in_progress",))
        assert (await dx_api(f"executions/{second['id']}"))[1]["status"] == "pending"
        a, b = await wait_for(dx_api, first["id"]), await wait_for(dx_api, second["id"])
        assert a["status"] == b["status"] == "completed"
        assert a["finished_at"] <= b["started_at"]


class TestTimeout:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        jp_server_config["LocalExecutor"] = {"step_timeout": 1}
        return jp_server_config

    async def test_a_step_over_the_timeout_is_killed_and_the_execution_fails(self, dx_api, tmp_path):
        pid_file = tmp_path / "pid"
        await make_package(dx_api, {"long.py": LONG_STEP, "after.py": "print('after')\n"})
        t0 = time.monotonic()
        created = await start(dx_api, params={"pid_file": str(pid_file)})
        done = await wait_for(dx_api, created["id"], timeout=20)
        assert time.monotonic() - t0 < 10
        assert done["status"] == "failed"
        assert "timed out" in done["status_message"] and "long.py" in done["status_message"]
        assert [s["status"] for s in done["steps"]] == ["failed", "unprocessed"]
        assert 1 <= done["steps"][0]["duration"] < 10
        result = await output(dx_api, created["id"])
        assert "[step 1 (long.py) timed out after 1 s]" in result["output"]
        assert gone(int(pid_file.read_text()))


class TestOutputCap:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        jp_server_config["LocalExecutor"] = {"max_output_bytes": 100}
        return jp_server_config

    async def test_output_over_the_cap_is_truncated_with_a_marker(self, dx_api):
        await make_package(dx_api, {"loud.py": "for i in range(10000):\n    print(f'line {i:05d}')\n"})
        done = await run(dx_api)
        assert done["status"] == "completed", done
        result = await output(dx_api, done["id"])
        assert result["truncated"] is True
        body, marker = result["output"].split("\n[output truncated at 100 bytes]\n")
        assert marker == ""
        assert len(body.encode()) == 100 and body.startswith("line 00000\nline 00001\n")

    async def test_output_under_the_cap_is_not_marked_truncated(self, dx_api):
        await make_package(dx_api, {"quiet.py": "print('short')\n"})
        done = await run(dx_api)
        result = await output(dx_api, done["id"])
        assert result["truncated"] is False and result["output"] == "short\n"

    async def test_cap_does_not_split_a_multibyte_character(self, dx_api):
        # 99 ASCII bytes, then a 2-byte character across the limit
        await make_package(dx_api, {"utf.py": "import sys\nsys.stdout.write('a' * 99 + 'é' * 10)\n"})
        done = await run(dx_api)
        result = await output(dx_api, done["id"])
        assert result["output"] == "a" * 99 + "\n[output truncated at 100 bytes]\n"


async def test_a_run_the_executor_refuses_is_recorded_failed_not_left_pending(dx_api, dx_core, monkeypatch):
    def refuse(event):
        raise RuntimeError("no workers")

    monkeypatch.setattr(dx_core.executor, "submit", refuse)
    await make_package(dx_api, {"s.py": "print('x')\n"})
    status, execution = await dx_api("projects/demo/packages/pkg/executions", "POST")
    assert status == 201, execution
    assert execution["status"] == "failed"
    assert execution["status_message"] == "the executor did not take the run: RuntimeError: no workers"
    assert [s["status"] for s in execution["steps"]] == ["unprocessed"]
