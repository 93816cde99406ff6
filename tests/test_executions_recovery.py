"""Invariant 9: after a crash or a restart no execution stays pending or in progress."""
from __future__ import annotations

import base64
import os

import pytest

from dx_jupyter.backend import open_backend
from dx_jupyter.services.executions import RECOVERY_MESSAGE, ExecutionsService, hash_token
from dx_jupyter.store.models import Execution

from executions_support import make_package, output, run

MASTER_KEY = base64.b64encode(os.urandom(32)).decode()


def unfinished(executions: ExecutionsService, project: str = "demo", package: str = "pkg"):
    """One execution left in progress (its step 1 running, step 2 pending), one left pending."""
    running, _ = executions.create(project, package)
    executions.run_started(running["id"])
    executions.step_started(running["id"], 1)
    queued, _ = executions.create(project, package)
    return running["id"], queued["id"]


async def test_recover_fails_pending_and_in_progress_executions(dx_api, dx_core):
    await make_package(dx_api, {"a.py": "pass\n", "b.py": "pass\n"})
    finished = await run(dx_api)
    service = dx_core.executions
    running, queued = unfinished(service)

    assert service.recover() == 2

    for eid in (running, queued):
        status, execution = await dx_api(f"executions/{eid}")
        assert execution["status"] == "failed"
        assert execution["status_message"] == RECOVERY_MESSAGE
        assert execution["finished_at"] is not None
    _, was_running = await dx_api(f"executions/{running}")
    assert [s["status"] for s in was_running["steps"]] == ["failed", "unprocessed"]
    assert was_running["steps"][0]["finished_at"] is not None
    _, was_queued = await dx_api(f"executions/{queued}")
    assert [s["status"] for s in was_queued["steps"]] == ["unprocessed", "unprocessed"]
    assert was_queued["started_at"] is None and was_queued["duration"] is None  # it never started
    _, untouched = await dx_api(f"executions/{finished['id']}")
    assert untouched["status"] == "completed" and untouched == {**finished}


async def test_recover_revokes_the_tokens_of_the_executions_it_fails(dx_api, dx_core):
    await make_package(dx_api, {"a.py": "pass\n"})
    running, queued = unfinished(dx_core.executions)
    dx_core.executions.recover()
    with dx_core.executions.store.read() as session:
        for eid in (running, queued):
            assert session.get(Execution, eid).token_hash is None


async def test_recover_with_nothing_unfinished_changes_nothing(dx_api, dx_core):
    await make_package(dx_api, {"a.py": "pass\n"})
    done = await run(dx_api)
    assert dx_core.executions.recover() == 0
    assert (await dx_api(f"executions/{done['id']}"))[1] == done


async def test_result_of_a_recovered_step_reads_as_empty(dx_api, dx_core):
    await make_package(dx_api, {"a.py": "pass\n", "b.py": "pass\n"})
    running, _ = unfinished(dx_core.executions)
    dx_core.executions.recover()
    result = await output(dx_api, running, 1)
    assert result["status"] == "failed" and result["output"] == ""


class TestRestart:
    """A second server start on a store that a crashed server left behind."""

    @pytest.fixture
    def left_behind(self, dx_data_dir, db_url, monkeypatch):
        monkeypatch.setenv("DX_MASTER_KEY", MASTER_KEY)
        url = f"sqlite:///{dx_data_dir}/dx.db" if db_url.startswith("sqlite") else db_url
        backend = open_backend(url, base64.b64decode(MASTER_KEY))
        try:
            backend.projects.create("demo")
            backend.packages.create("demo", "pkg", scripts=[_upload("a.py"), _upload("b.py")])
            service = ExecutionsService(backend.store, backend.secrets, os.urandom(32))
            running, queued = unfinished(service)
            completed, _ = service.create("demo", "pkg")
            service.run_finished(completed["id"], "completed", "")
        finally:
            backend.close()
        return {"running": running, "queued": queued, "completed": completed["id"]}

    @pytest.fixture
    def jp_server_config(self, jp_server_config, left_behind):
        return jp_server_config

    async def test_a_new_server_start_fails_what_the_old_one_left_unfinished(self, dx_api, left_behind):
        _, page = await dx_api("projects/demo/packages/pkg/executions")
        statuses = {e["id"]: (e["status"], e["status_message"]) for e in page["executions"]}
        assert statuses[left_behind["running"]] == ("failed", RECOVERY_MESSAGE)
        assert statuses[left_behind["queued"]] == ("failed", RECOVERY_MESSAGE)
        assert statuses[left_behind["completed"]] == ("completed", "")
        assert not any(s in ("pending", "in_progress") for s, _ in statuses.values())

    async def test_steps_of_a_recovered_execution_end_failed_or_unprocessed(self, dx_api, left_behind):
        _, running = await dx_api(f"executions/{left_behind['running']}")
        assert [s["status"] for s in running["steps"]] == ["failed", "unprocessed"]
        _, queued = await dx_api(f"executions/{left_behind['queued']}")
        assert [s["status"] for s in queued["steps"]] == ["unprocessed", "unprocessed"]

    async def test_the_restarted_server_runs_new_executions(self, dx_api):
        done = await run(dx_api)
        assert done["status"] == "completed", done


def _upload(name: str):
    from dx_jupyter.services.packages import Upload

    return Upload(name, b"pass\n")


def test_hash_token_is_not_the_token():
    assert hash_token("abc") != "abc" and len(hash_token("abc")) == 64


def _running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class TestCrash:
    """A real server killed with SIGKILL mid-run, and a new server on the same data dir."""

    async def test_execution_running_when_the_server_was_killed_ends_failed_after_restart(self, tmp_path):
        import signal
        import time

        from real_server import RealServer

        pid_file, token_file = tmp_path / "pid", tmp_path / "token"
        data_dir = tmp_path / "dx-data"
        first = RealServer(tmp_path / "one", data_dir, MASTER_KEY).start()
        step_pid = None
        try:
            assert first.call("POST", "projects", {"name": "demo"})[0] == 201
            assert first.call("POST", "projects/demo/packages", {"name": "pkg", "scripts": [
                {"name": "long.py", "content": (
                    "import os, time\nfrom ferris_ef import get_param\n"
                    "from ferris_ef._context import current_backend\n"
                    "open(get_param('token_file'), 'w').write(current_backend()._token + '\\n')\n"
                    "open(get_param('pid_file'), 'w').write(f'{os.getpid()}\\n')\n"
                    "time.sleep(120)\n")},
                {"name": "next.py", "content": "print('next')\n"},
            ]})[0] == 201
            status, created = first.call("POST", "projects/demo/packages/pkg/executions",
                                         {"params": {"pid_file": str(pid_file), "token_file": str(token_file)}})
            assert status == 201, created
            deadline = time.monotonic() + 30
            while not pid_file.read_text().endswith("\n") if pid_file.exists() else True:
                assert time.monotonic() < deadline, "the step did not start"
                time.sleep(0.05)
            step_pid = int(pid_file.read_text())
            token = token_file.read_text().strip()
            assert first.call("GET", f"executions/{created['id']}")[1]["status"] == "in_progress"
            first.kill()
            # the fork server sees its executor vanish and ends the orphaned step
            deadline = time.monotonic() + 15
            while _running(step_pid):
                assert time.monotonic() < deadline, "the orphaned step outlived the killed server"
                time.sleep(0.05)

            second = RealServer(tmp_path / "two", data_dir, MASTER_KEY).start()
            try:
                status, after = second.call("GET", f"executions/{created['id']}")
                assert status == 200
                assert after["status"] == "failed" and after["status_message"] == RECOVERY_MESSAGE
                assert [s["status"] for s in after["steps"]] == ["failed", "unprocessed"]
                # the orphaned step's token died with its execution
                assert second.call("GET", "runtime/state", headers={"X-DX-Token": token})[0] == 403
                assert "marked failed after restart" in second.log.read_text()
            finally:
                second.stop()
        finally:
            first.kill()
            if step_pid is not None:  # a SIGKILLed server cannot stop its steps
                try:
                    os.killpg(step_pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


class TestCleanStop:
    """A server stopped with SIGTERM while one execution runs and another waits for a slot."""

    async def test_stopping_the_server_fails_running_and_queued_executions_and_kills_the_step(self, tmp_path):
        import time

        from real_server import RealServer

        pid_file = tmp_path / "pid"
        data_dir = tmp_path / "dx-data"
        server = RealServer(tmp_path / "one", data_dir, MASTER_KEY,
                            config={"LocalExecutor": {"max_concurrent": 1}}).start()
        try:
            assert server.call("POST", "projects", {"name": "demo"})[0] == 201
            assert server.call("POST", "projects/demo/packages", {"name": "pkg", "scripts": [
                {"name": "long.py", "content": (
                    "import os, time\nfrom ferris_ef import get_param\n"
                    "if get_param('pid_file'):\n"
                    "    open(get_param('pid_file'), 'w').write(f'{os.getpid()}\\n')\n"
                    "    time.sleep(120)\n")},
            ]})[0] == 201
            _, running = server.call("POST", "projects/demo/packages/pkg/executions",
                                     {"params": {"pid_file": str(pid_file)}})
            _, queued = server.call("POST", "projects/demo/packages/pkg/executions")
            deadline = time.monotonic() + 30
            while not (pid_file.exists() and pid_file.read_text().endswith("\n")):
                assert time.monotonic() < deadline, "the step did not start"
                time.sleep(0.05)
            step_pid = int(pid_file.read_text())
            server.stop()
            assert server.proc.returncode is not None
            assert not os.path.exists(f"/proc/{step_pid}") or _zombie(step_pid), "the step outlived its server"
        finally:
            server.kill()

        second = RealServer(tmp_path / "two", data_dir, MASTER_KEY).start()
        try:
            _, was_running = second.call("GET", f"executions/{running['id']}")
            _, was_queued = second.call("GET", f"executions/{queued['id']}")
        finally:
            second.stop()
        assert was_running["status"] == "failed"
        assert "server stopped" in was_running["status_message"] and "long.py" in was_running["status_message"]
        assert [s["status"] for s in was_running["steps"]] == ["failed"]
        assert was_queued["status"] == "failed"
        assert "server stopped" in was_queued["status_message"]
        assert was_queued["started_at"] is None
        assert [s["status"] for s in was_queued["steps"]] == ["unprocessed"]
        assert "marked failed after restart" not in second.log.read_text()  # nothing was left over


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
