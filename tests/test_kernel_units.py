"""Unit tests of the kernel-side parts without a kernel: env export, the HTTP client's rules,
masking of messages, and the execution poller's backoff and failure handling."""
from __future__ import annotations

import os

import pytest

from dx_jupyter import masking
from dx_jupyter.kernel_client import DXClientError, KernelClient, NotConnected, secrets_path
from dx_jupyter.kernel_env import export_to_kernels


# ----- kernel_env -----
class FakeKernelManager:
    def __init__(self):
        self.calls = []

    async def start_kernel(self, **kwargs):
        self.calls.append(kwargs)
        return "kid"


def test_exported_variables_join_the_given_env_or_the_servers_environment(jp_asyncio_loop):
    km = FakeKernelManager()
    assert export_to_kernels(km, lambda: {"DX_KERNEL_TOKEN": "t", "DX_API_URL": "u"})
    assert export_to_kernels(km, lambda: {"DX_KERNEL_TOKEN": "other"})  # already wrapped: unchanged
    jp_asyncio_loop.run_until_complete(km.start_kernel(kernel_name="python3", env={"A": "1", "DX_KERNEL_TOKEN": "old"}))
    jp_asyncio_loop.run_until_complete(km.start_kernel(path="x"))
    given, default = km.calls
    assert given["env"] == {"A": "1", "DX_KERNEL_TOKEN": "t", "DX_API_URL": "u"} and given["kernel_name"] == "python3"
    assert default["env"]["DX_KERNEL_TOKEN"] == "t" and default["env"]["PATH"] == os.environ["PATH"]
    assert "DX_KERNEL_TOKEN" not in os.environ


def test_a_manager_without_start_kernel_is_left_alone():
    assert export_to_kernels(object(), dict) is False


# ----- kernel_client -----
def test_the_client_needs_an_address_and_a_token():
    for env in ({}, {"DX_API_URL": "http://x/dx/api"}, {"DX_KERNEL_TOKEN": "t"}):
        with pytest.raises(NotConnected, match="not connected to a DX server"):
            KernelClient.from_env(env)
    client = KernelClient.from_env({"DX_API_URL": "http://x/dx/api/", "DX_KERNEL_TOKEN": "secret-token"})
    assert client.api_url == "http://x/dx/api" and "secret-token" not in repr(client)


def test_a_unix_socket_address_says_what_to_set():
    client = KernelClient("http+unix://%2Ftmp%2Fjs.sock/dx/api", "t")
    with pytest.raises(NotConnected, match="c.DXJupyter.api_url"):
        client.projects()


def test_secrets_paths_per_scope():
    assert secrets_path("platform") == "secrets/platform"
    assert secrets_path("project", "demo") == "projects/demo/secrets"
    assert secrets_path("service", "demo", "a b") == "projects/demo/packages/a%20b/secrets"
    with pytest.raises(DXClientError, match="needs a project"):
        secrets_path("project")
    with pytest.raises(DXClientError, match="unknown scope"):
        secrets_path("galaxy")


# ----- masking -----
@pytest.fixture
def masked():
    masking.forget_all()
    masking.set_enabled(True)
    masking.protect("supersecretpas$")
    masking.protect({"user": "admin-user", "pw": "p&ss<word>"})
    yield
    masking.forget_all()
    masking.set_enabled(True)


def test_message_contents_are_masked_per_type(masked):
    rc = masking.redact_content
    assert rc("stream", {"name": "stdout", "text": "pw supersecretpas$\n"})["text"] == "pw [REDACTED]\n"
    data = rc("display_data", {"data": {"text/plain": "'supersecretpas$'", "text/html": "<b>p&amp;ss&lt;word&gt;</b>",
                                        "application/json": {"k": ["admin-user"]},
                                        "application/vnd.jupyter.widget-view+json": {"model_id": "m"}},
                               "metadata": {}})["data"]
    assert data == {"text/plain": "'[REDACTED]'", "text/html": "<b>[REDACTED]</b>",
                    "application/json": {"k": ["[REDACTED]"]},
                    "application/vnd.jupyter.widget-view+json": {"model_id": "m"}}
    err = rc("error", {"ename": "E", "evalue": "bad supersecretpas$", "traceback": ["x supersecretpas$ y"]})
    assert err == {"ename": "E", "evalue": "bad [REDACTED]", "traceback": ["x [REDACTED] y"]}
    reply = rc("execute_reply", {"status": "error", "evalue": "supersecretpas$", "traceback": []})
    assert reply["evalue"] == "[REDACTED]"
    state = rc("comm_msg", {"comm_id": "c", "data": {"method": "update", "state": {"value": "admin-user"}}})
    assert state["data"]["state"]["value"] == "[REDACTED]"
    untouched = {"code": "print(v)"}
    assert rc("execute_input", untouched) is untouched
    assert rc("stream", {"text": '{"user": "admin-user", "pw": "p&ss<word>"}'})["text"] == "[REDACTED]"
    masking.set_enabled(False)
    assert rc("stream", {"text": "supersecretpas$"})["text"] == "supersecretpas$"


def test_the_session_send_wrapper_masks_both_call_shapes(masked):
    sent = []

    class Session:
        def send(self, stream, msg_or_type, content=None, parent=None, ident=None, **kw):
            sent.append((msg_or_type, content))

    session = Session()
    session.send = masking._masking_send(session.send)
    session.send("iopub", "stream", {"name": "stdout", "text": "supersecretpas$"}, {}, ident=b"x")
    session.send("iopub", {"header": {"msg_type": "stream"}, "content": {"text": "admin-user"}})
    session.send("iopub", "stream", content={"text": "admin-user!"})
    assert sent[0][1]["text"] == "[REDACTED]"
    assert sent[1][0]["content"]["text"] == "[REDACTED]"
    assert sent[2][1]["text"] == "[REDACTED]!"


def test_short_values_and_none_are_not_masked(masked):
    masking.protect("ab")
    masking.protect(None)
    masking.protect(True)
    assert masking.redact("ab None True") == "ab None True"


def test_install_is_false_outside_a_kernel():
    assert masking.install() is False


# ----- the execution poller -----
class FakeClient:
    def __init__(self, statuses, fail=False):
        self.statuses = list(statuses)
        self.fail = fail
        self.calls = 0

    def _info(self, status):
        step = {"number": 1, "script": "a.py", "status": "completed" if status == "completed" else "pending",
                "exit_code": 0 if status == "completed" else None, "started_at": None, "finished_at": None,
                "duration": 0.5 if status == "completed" else None}
        return {"id": "0" * 32, "project": "demo", "package": "pkg", "trigger": "manual", "status": status,
                "status_message": "", "params": {}, "started_at": "2026-11-29T07:40:00Z", "finished_at": None,
                "duration": None, "steps": [step]}

    def execution(self, _id):
        self.calls += 1
        if self.fail:
            raise DXClientError("cannot reach the DX server")
        return self._info(self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0])

    def result(self, _id, number):
        return {"number": number, "script": "a.py", "status": "completed", "exit_code": 0, "output": "out\n",
                "truncated": False, "redacted": True}


def test_the_poller_backs_off_and_finishes_with_the_results():
    from dx_jupyter.widgets import Execution

    client = FakeClient(["pending"] * 3 + ["in_progress"] * 8 + ["completed"])
    execution = Execution(client, client._info("pending"))
    delays = []
    execution._poll(sleep=delays.append)
    assert execution.status == "completed" and execution._final.is_set()
    assert delays[:4] == [0.2, pytest.approx(0.3), pytest.approx(0.45), pytest.approx(0.675)]
    assert max(delays) == 2.0 and len(delays) == 11
    view = execution.view
    assert view.status.value == "status: completed" and view.finished
    assert "| out" in view.summary_text() and "secret values masked" in view.summary_html()


def test_a_poller_that_cannot_reach_the_server_gives_up_and_wait_returns(monkeypatch):
    from dx_jupyter.widgets import execution as mod

    monkeypatch.setattr(mod, "MAX_ERRORS", 3)
    monkeypatch.setattr(mod, "FIRST_DELAY", 0.01)
    client = FakeClient(["in_progress"], fail=True)
    run = mod.Execution(client, client._info("in_progress"))
    run.wait(timeout=30)
    assert client.calls == 3 and not run.done
    assert "stopped following the execution after 3 failed attempts" in run.view.message.value
