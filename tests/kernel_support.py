"""Helpers of the kernel, magics, widgets and notebook tests: real kernels of the test server.

A kernel is started through the server's own REST API (`POST /api/kernels`), so it gets what
the extension exports to the kernels it starts, and driven with jupyter_client's async client,
so that the test server (in the test's event loop) keeps answering the kernel's HTTP calls.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Optional

import pytest

REPO = Path(__file__).resolve().parents[1]
FINAL = ("completed", "failed", "cancelled")


@pytest.fixture
def db_url(tmp_path):
    """Kernel tests run on SQLite only: the store's backends are covered by the API and store tests."""
    return f"sqlite:///{tmp_path}/dx.db"


@pytest.fixture
def kernel_pythonpath(monkeypatch):
    """Kernels import dx_jupyter and ferris_ef from this checkout (installed or not)."""
    old = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(REPO) + (os.pathsep + old if old else ""))


@dataclass
class Result:
    """What one execute request produced."""

    reply: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reply["content"]["status"] == "ok"

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["msg_type"] in types]

    @property
    def stdout(self) -> str:
        return "".join(m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == "stdout")

    @property
    def stderr(self) -> str:
        return "".join(m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == "stderr")

    @property
    def error(self) -> Optional[dict[str, Any]]:
        errors = self.of_type("error")
        return errors[0]["content"] if errors else None

    @property
    def outputs(self) -> list[dict[str, Any]]:
        """display_data / execute_result / update_display_data contents."""
        return [m["content"] for m in self.of_type("display_data", "execute_result", "update_display_data")]

    def text(self) -> str:
        """Everything shown: streams, every text representation, errors (as JSON text)."""
        return json.dumps([m["content"] for m in self.messages])

    def value(self) -> Any:
        """The JSON printed last on stdout by `emit(...)`."""
        lines = [line for line in self.stdout.splitlines() if line.startswith("@@")]
        assert lines, f"nothing emitted; stdout={self.stdout!r} stderr={self.stderr!r} error={self.error}"
        return json.loads(lines[-1][2:])


EMIT = "def emit(v):\n    import json; print('@@' + json.dumps(v, default=str))\n"


class Kernel:
    def __init__(self, client: Any, kernel_id: str) -> None:
        self.client = client
        self.id = kernel_id
        self.all_messages: list[dict[str, Any]] = []  # every iopub message seen, whatever its parent

    async def _collect(self, msg_id: str, timeout: float) -> list[dict[str, Any]]:
        """iopub messages whose parent is `msg_id`, until the kernel is idle for it."""
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"kernel did not finish request {msg_id} within {timeout}s")
            try:
                msg = await self.client.get_iopub_msg(timeout=min(left, 5))
            except (queue.Empty, asyncio.TimeoutError, TimeoutError):
                continue
            self.all_messages.append(msg)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return messages
            messages.append(msg)

    async def execute(self, code: str, timeout: float = 90.0) -> Result:
        """Run `code`; collect every iopub message of that request until the kernel is idle."""
        code = textwrap.dedent(code)
        msg_id = self.client.execute(code, allow_stdin=False)
        messages = await self._collect(msg_id, timeout)
        while True:
            reply = await self.client.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        return Result(reply, messages)

    async def comm(self, comm_id: str, data: dict[str, Any], buffers: Optional[list[bytes]] = None,
                   timeout: float = 60.0) -> Result:
        """Send a comm_msg as a frontend does (a widget state change, a button click)."""
        msg = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        if buffers:
            msg["buffers"] = buffers
        self.client.shell_channel.send(msg)
        messages = await self._collect(msg["header"]["msg_id"], timeout)
        return Result({"content": {"status": "ok"}}, messages)

    async def ok(self, code: str, timeout: float = 90.0) -> Result:
        result = await self.execute(code, timeout)
        assert result.ok, f"cell failed: {result.error or result.reply['content']}\nstderr: {result.stderr}"
        return result

    async def value(self, code: str) -> Any:
        """Run `code` (which calls emit(...)) and return what it emitted."""
        return (await self.ok(EMIT + textwrap.dedent(code))).value()


class Frontend:
    """Widget models as a frontend holds them, rebuilt from the kernel's comm messages."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.models: dict[str, dict[str, Any]] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        for msg in messages:
            content = msg["content"]
            if msg["msg_type"] == "comm_open":
                state = dict(content["data"].get("state", {}))
                self.models[content["comm_id"]] = state
                self.history[content["comm_id"]] = [dict(state)]
            elif msg["msg_type"] == "comm_msg" and content["data"].get("method") in ("update", "echo_update"):
                model = self.models.setdefault(content["comm_id"], {})
                model.update(content["data"].get("state", {}))
                self.history.setdefault(content["comm_id"], []).append(dict(model))
            elif msg["msg_type"] == "comm_close":
                self.models.pop(content["comm_id"], None)

    def with_class(self, cls: str) -> list[tuple[str, dict[str, Any]]]:
        return [(cid, m) for cid, m in self.models.items() if cls in m.get("_dom_classes", [])]

    def one(self, cls: str) -> tuple[str, dict[str, Any]]:
        found = self.with_class(cls)
        assert len(found) == 1, f"{len(found)} models with class {cls}"
        return found[0]

    def ref(self, value: str) -> dict[str, Any]:
        """The model behind an 'IPY_MODEL_<id>' reference."""
        return self.models[value[len("IPY_MODEL_"):]]

    def within(self, root: dict[str, Any], cls: str) -> list[dict[str, Any]]:
        """Models with class `cls` among `root`'s descendants (through `children`), in order."""
        found = []
        for child in root.get("children", []):
            model = self.ref(child)
            if cls in model.get("_dom_classes", []):
                found.append(model)
            found += self.within(model, cls)
        return found

    def comm_id(self, model: dict[str, Any]) -> str:
        return next(cid for cid, m in self.models.items() if m is model)


@contextlib.asynccontextmanager
async def server_kernel(jp_fetch: Any, jp_serverapp: Any) -> AsyncIterator[Kernel]:
    """A kernel started by the test server's kernel manager (`POST /api/kernels`)."""
    # path "": the kernel runs in the server root (a temporary folder), not in this checkout
    resp = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"path": ""}))
    kernel_id = json.loads(resp.body)["id"]
    km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        yield Kernel(client, kernel_id)
    finally:
        client.stop_channels()
        await jp_serverapp.kernel_manager.shutdown_kernel(kernel_id, now=True)


@contextlib.asynccontextmanager
async def foreign_kernel(env: Optional[dict[str, str]] = None) -> AsyncIterator[Kernel]:
    """A kernel that no dx_jupyter server started (its own AsyncKernelManager)."""
    from jupyter_client.manager import AsyncKernelManager

    km = AsyncKernelManager(kernel_name="python3")
    base = {k: v for k, v in os.environ.items() if not k.startswith("DX_")}
    base["PYTHONPATH"] = str(REPO) + (os.pathsep + base["PYTHONPATH"] if base.get("PYTHONPATH") else "")
    await km.start_kernel(env={**base, **(env or {})})
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        yield Kernel(client, km.kernel_id)
    finally:
        client.stop_channels()
        await km.shutdown_kernel(now=True)


async def make_project(dx_api: Any, name: str) -> None:
    status, body = await dx_api("projects", "POST", {"name": name})
    assert status == 201, body


async def make_package(dx_api: Any, project: str, name: str, scripts: dict[str, str],
                       secrets: Optional[dict[str, Any]] = None) -> None:
    body = {"name": name, "scripts": [{"name": n, "content": s} for n, s in scripts.items()]}
    status, answer = await dx_api(f"projects/{project}/packages", "POST", body)
    assert status == 201, answer
    if secrets is not None:
        status, answer = await dx_api(f"projects/{project}/packages/{name}/secrets", "PUT", secrets)
        assert status == 200, answer


async def put_secrets(dx_api: Any, path: str, values: dict[str, Any]) -> None:
    status, answer = await dx_api(f"{path}/secrets" if path else "secrets/platform", "PUT", values)
    assert status == 200, answer
