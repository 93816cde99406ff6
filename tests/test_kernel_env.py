"""Kernels reach the server: what the extension exports to the kernels it starts, and what a
kernel that no dx_jupyter server started says."""
from __future__ import annotations

import json
import logging
import os

from kernel_support import db_url, foreign_kernel, kernel_pythonpath, server_kernel  # noqa: F401


def _environ(pid: int) -> dict[str, str]:
    raw = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    return dict(item.decode(errors="replace").partition("=")[::2] for item in raw if item)


async def test_a_kernel_started_by_the_server_gets_the_api_address_and_the_kernel_token(
    jp_fetch, jp_serverapp, dx_core, kernel_pythonpath
):
    async with server_kernel(jp_fetch, jp_serverapp) as kernel:
        km = jp_serverapp.kernel_manager.get_kernel(kernel.id)
        env = _environ(km.provisioner.process.pid)
        assert env["DX_KERNEL_TOKEN"] == dx_core.kernel_token
        assert env["DX_API_URL"].startswith("http://") and env["DX_API_URL"].endswith("/dx/api")
        assert env["DX_MASK_OUTPUTS"] == "1"
        seen = await kernel.value("import os; emit({k: os.environ.get(k) for k in ('DX_API_URL', 'DX_KERNEL_TOKEN')})")
        assert seen == {"DX_API_URL": env["DX_API_URL"], "DX_KERNEL_TOKEN": dx_core.kernel_token}
        # the kernel reaches the server with them
        assert await kernel.value("""
            from dx_jupyter.kernel_client import get_client
            emit(get_client().projects())
        """) == []


async def test_a_notebook_session_kernel_keeps_the_session_env_and_gets_the_variables(
    jp_fetch, jp_serverapp, dx_core, kernel_pythonpath
):
    """JupyterLab opens a notebook through /api/sessions, whose manager passes its own env."""
    body = {"path": "walk.ipynb", "type": "notebook", "name": "walk.ipynb", "kernel": {"name": "python3"}}
    resp = await jp_fetch("api", "sessions", method="POST", body=json.dumps(body))
    session = json.loads(resp.body)
    kernel_id = session["kernel"]["id"]
    try:
        km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
        env = _environ(km.provisioner.process.pid)
        assert env["JPY_SESSION_NAME"].endswith("walk.ipynb")
        assert env["DX_KERNEL_TOKEN"] == dx_core.kernel_token and env["DX_API_URL"].endswith("/dx/api")
    finally:
        await jp_fetch("api", "sessions", session["id"], method="DELETE")


async def test_the_kernel_token_is_random_per_server_start_and_not_in_the_server_environment(dx_core, jp_serverapp):
    assert len(dx_core.kernel_token) >= 40
    assert "DX_KERNEL_TOKEN" not in os.environ
    assert dx_core.kernel_token not in json.dumps(dict(os.environ))


async def test_a_restarted_kernel_keeps_the_variables(jp_fetch, jp_serverapp, dx_core, kernel_pythonpath):
    async with server_kernel(jp_fetch, jp_serverapp) as kernel:
        await jp_fetch("api", "kernels", kernel.id, "restart", method="POST", body="")
        km = jp_serverapp.kernel_manager.get_kernel(kernel.id)
        env = _environ(km.provisioner.process.pid)
        assert env["DX_KERNEL_TOKEN"] == dx_core.kernel_token


async def test_the_kernel_token_is_never_logged(jp_fetch, jp_serverapp, dx_core, kernel_pythonpath, caplog):
    caplog.set_level(logging.DEBUG)
    jp_serverapp.log.setLevel(logging.DEBUG)
    jp_serverapp.kernel_manager.log.setLevel(logging.DEBUG)
    async with server_kernel(jp_fetch, jp_serverapp) as kernel:
        await kernel.ok("from ferris_ef import context\ncontext.secrets.get('NOPE')")
    assert dx_core.kernel_token not in caplog.text
    assert "DX_KERNEL_TOKEN" in caplog.text or "Kernel started" in caplog.text  # the logs were captured


async def test_a_kernel_that_no_dx_server_started_says_how_to_connect(kernel_pythonpath):
    async with foreign_kernel() as kernel:
        result = await kernel.execute("from ferris_ef import context\ncontext.secrets.get('DB_PASS')")
        assert not result.ok
        assert result.error["ename"] == "FerrisError"
        message = result.error["evalue"]
        assert "not connected to a DX server" in message
        assert "DX_API_URL and DX_KERNEL_TOKEN are not set" in message
        assert "docs/notebooks.md" in message
        magic = await kernel.execute("%load_ext dx_jupyter\n%dx_use demo")
        assert not magic.ok and magic.error["ename"] == "DXMagicError"
        assert len(magic.error["traceback"]) == 1 and "not connected to a DX server" in magic.error["traceback"][0]


def test_the_message_is_the_documented_one():
    from pathlib import Path

    from dx_jupyter.kernel_client import NOT_CONNECTED

    doc = " ".join((Path(__file__).resolve().parents[1] / "docs" / "notebooks.md").read_text().split())
    assert "FerrisError: " + " ".join(NOT_CONNECTED.split()) in doc


async def test_a_kernel_with_a_stale_token_is_told_to_restart(jp_fetch, jp_serverapp, dx_core, kernel_pythonpath):
    from dx_jupyter.kernel_env import kernel_api_url

    env = {"DX_API_URL": kernel_api_url(jp_serverapp), "DX_KERNEL_TOKEN": "not-the-token"}
    async with foreign_kernel(env) as kernel:
        result = await kernel.execute("from ferris_ef import context\ncontext.secrets.get('DB_PASS')")
        assert result.error["ename"] == "FerrisError"
        assert "restart the kernel" in result.error["evalue"]


async def test_a_kernel_whose_server_is_gone_says_so(kernel_pythonpath):
    env = {"DX_API_URL": "http://127.0.0.1:9/dx/api", "DX_KERNEL_TOKEN": "x" * 43}
    async with foreign_kernel(env) as kernel:
        result = await kernel.execute("%load_ext dx_jupyter\n%dx_run demo/pkg")
        assert result.error["ename"] == "DXMagicError"
        assert "cannot reach the DX server at http://127.0.0.1:9/dx/api" in result.error["traceback"][0]
