"""Helpers of the execution tests: packages over REST, waiting for executions, multipart bodies."""
from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, Optional

FINAL = ("completed", "failed", "cancelled")

SEED_SCRIPT = """\
from ferris_ef import get_secret, get_param

print(f"DB NAME: {get_secret('DB_NAME')}")
print(f"DB PASS: {get_secret('DB_PASS')}")

print(f"PACKAGE NAME: {get_param('package_name')}")
"""
SEED_SECRETS = {"DB_NAME": "test_db", "DB_PASS": "supersecretpas$"}


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type, as a browser form sends it."""
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for field, filename, content in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


async def make_project(dx_api: Any, name: str = "demo") -> None:
    status, body = await dx_api("projects", "POST", {"name": name})
    assert status == 201, body


async def make_package(
    dx_api: Any,
    scripts: dict[str, str],
    name: str = "pkg",
    project: str = "demo",
    secrets: Optional[dict[str, Any]] = None,
    config: Optional[dict[str, Any]] = None,
    create_project: bool = True,
) -> dict[str, Any]:
    """Create the project (once) and a package of `scripts` (name -> source, in order)."""
    if create_project:
        status, _ = await dx_api(f"projects/{project}")
        if status == 404:
            await make_project(dx_api, project)
    body: dict[str, Any] = {"name": name, "scripts": [{"name": n, "content": s} for n, s in scripts.items()]}
    if config is not None:
        body["config"] = config
    status, package = await dx_api(f"projects/{project}/packages", "POST", body)
    assert status == 201, package
    if secrets is not None:
        status, stored = await dx_api(f"projects/{project}/packages/{name}/secrets", "PUT", secrets)
        assert status == 200, stored
    return package


async def start(dx_api: Any, package: str = "pkg", project: str = "demo", params: Any = None) -> dict[str, Any]:
    body = None if params is None else {"params": params}
    status, execution = await dx_api(f"projects/{project}/packages/{package}/executions", "POST", body)
    assert status == 201, execution
    return execution


async def wait_for(dx_api: Any, execution_id: str, statuses: tuple[str, ...] = FINAL,
                   timeout: float = 60.0) -> dict[str, Any]:
    """Poll GET /executions/{id} until its status is one of `statuses`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        status, execution = await dx_api(f"executions/{execution_id}")
        assert status == 200, execution
        if execution["status"] in statuses:
            return execution
        assert loop.time() < deadline, f"execution still {execution['status']} after {timeout} s"
        await asyncio.sleep(0.05)


async def wait_for_step(dx_api: Any, execution_id: str, number: int, status: str = "in_progress",
                        timeout: float = 60.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        _, execution = await dx_api(f"executions/{execution_id}")
        step = execution["steps"][number - 1]
        if step["status"] == status:
            return execution
        assert loop.time() < deadline, f"step {number} still {step['status']} after {timeout} s"
        await asyncio.sleep(0.05)


async def run(dx_api: Any, package: str = "pkg", project: str = "demo", params: Any = None) -> dict[str, Any]:
    """Start an execution and wait until it is final."""
    execution = await start(dx_api, package, project, params)
    return await wait_for(dx_api, execution["id"])


async def output(dx_api: Any, execution_id: str, number: int = 1) -> dict[str, Any]:
    status, result = await dx_api(f"executions/{execution_id}/steps/{number}/result")
    assert status == 200, result
    return result


async def wait_for_file(path: Any, timeout: float = 30.0) -> str:
    """Wait until a script has written `path` (non-empty, ending with a newline)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            text = path.read_text()
        except FileNotFoundError:
            text = ""
        if text.endswith("\n"):
            return text.strip()
        assert loop.time() < deadline, f"{path} was not written within {timeout} s"
        await asyncio.sleep(0.05)


def dumps(value: Any) -> str:
    return json.dumps(value)
