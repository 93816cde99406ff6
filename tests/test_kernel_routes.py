"""The kernel routes (`/dx/api/runtime/kernel/...`): the REST API's routes for the kernel token
only. An execution token, a Jupyter login alone, or no token is refused; the kernel token opens
no other route."""
from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from dx_jupyter.handlers import kernel as kernel_handlers
from dx_jupyter.routes import route_table
from dx_jupyter.run_events import open_run_event
from kernel_support import db_url, make_package, make_project, put_secrets  # noqa: F401

SCRIPT = "print('hello from a step')\n"


@pytest.fixture
def raw(http_server_client, jp_base_url):
    """(status, JSON) of a request WITHOUT Jupyter authentication, with optional X-DX-Token."""

    async def fetch(path, method="GET", token=None, body=None, content_type="application/json"):
        headers = {"X-DX-Token": token} if token else {}
        if body is not None:
            headers["Content-Type"] = content_type
        kwargs = {"method": method, "headers": headers}
        if method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
        try:
            resp = await http_server_client.fetch(f"{jp_base_url}dx/api/{path}", **kwargs)
        except HTTPClientError as err:
            payload = err.response.body if err.response is not None else b""
            return err.code, json.loads(payload) if payload else None
        return resp.code, json.loads(resp.body) if resp.body else None

    return fetch


async def _execution_token(dx_core, project, package) -> tuple[str, str]:
    """A live execution token, as the executor hands it to a step (the execution stays pending)."""
    info, event = await dx_core.run_blocking(lambda: dx_core.executions.create(project, package))
    return info["id"], open_run_event(event, dx_core.executions.executor_key).token


async def test_a_notebook_session_over_the_kernel_routes(raw, dx_api, dx_core):
    token = dx_core.kernel_token
    assert await raw("runtime/kernel/projects", token=token) == (200, {"projects": []})
    status, project = await raw("runtime/kernel/projects", "POST", token, {"name": "demo"})
    assert status == 201 and project["name"] == "demo"
    status, package = await raw("runtime/kernel/projects/demo/packages", "POST", token,
                                {"name": "pkg", "scripts": [{"name": "a.py", "content": SCRIPT}]})
    assert status == 201 and [s["name"] for s in package["scripts"]] == ["a.py"]
    status, patched = await raw("runtime/kernel/projects/demo/packages/pkg", "PATCH", token, {"description": "d"})
    assert status == 200 and patched["description"] == "d"
    assert (await raw("runtime/kernel/projects/demo", token=token))[1]["name"] == "demo"
    assert [p["name"] for p in (await raw("runtime/kernel/projects/demo/packages", token=token))[1]["packages"]] == ["pkg"]

    for path in ("secrets/platform", "projects/demo/secrets", "projects/demo/packages/pkg/secrets"):
        status, stored = await raw(f"runtime/kernel/{path}", "PUT", token, {"K1": "value-one", "K2": 2})
        assert status == 200 and stored["stored"] == ["K1", "K2"], stored
        status, listing = await raw(f"runtime/kernel/{path}", token=token)
        assert status == 200 and [s["name"] for s in listing["secrets"]] == ["K1", "K2"]
        assert "value-one" not in json.dumps(listing)  # names and metadata, never values

    status, execution = await raw("runtime/kernel/projects/demo/packages/pkg/executions", "POST", token, {})
    assert status == 201 and execution["trigger"] == "manual"
    eid = execution["id"]
    for _ in range(300):
        status, current = await raw(f"runtime/kernel/executions/{eid}", token=token)
        if current["status"] in ("completed", "failed", "cancelled"):
            break
        await __import__("asyncio").sleep(0.1)
    assert current["status"] == "completed", current
    assert (await raw(f"runtime/kernel/executions/{eid}/steps", token=token))[1]["steps"][0]["status"] == "completed"
    status, result = await raw(f"runtime/kernel/executions/{eid}/steps/1/result", token=token)
    assert status == 200 and result["output"] == "hello from a step\n"
    status, page = await raw("runtime/kernel/projects/demo/packages/pkg/executions", token=token)
    assert status == 200 and page["total"] == 1
    status, err = await raw(f"runtime/kernel/executions/{eid}/cancel", "POST", token)
    assert status == 409 and err["error"] == "conflict"  # the same rules as the REST API


async def test_errors_are_the_rest_apis_errors(raw, dx_core):
    token = dx_core.kernel_token
    status, err = await raw("runtime/kernel/projects/nope/packages/pkg", token=token)
    assert status == 404 and err == {"error": "not_found", "message": "project 'nope' does not exist"}
    status, err = await raw("runtime/kernel/secrets/platform", "PUT", token, b"[1, 2]")
    assert status == 422 and err["error"] == "invalid_content"


async def test_kernel_routes_refuse_no_token_a_wrong_token_and_an_execution_token(raw, dx_api, dx_core):
    await make_project(dx_api, "demo")
    await make_package(dx_api, "demo", "pkg", {"a.py": SCRIPT})
    _, exec_token = await _execution_token(dx_core, "demo", "pkg")
    # the execution token is good where it belongs...
    status, _ = await raw("runtime/state", token=exec_token)
    assert status == 200
    # ...and nowhere under runtime/kernel
    for path, method, body in (
        ("runtime/kernel/projects", "GET", None),
        ("runtime/kernel/projects", "POST", {"name": "other"}),
        ("runtime/kernel/projects/demo/packages/pkg/executions", "POST", {}),
        ("runtime/kernel/projects/demo/packages/pkg/secrets", "GET", None),
        ("runtime/kernel/secrets/platform", "PUT", {"X": "y"}),
    ):
        for token in (None, "wrong", exec_token):
            status, err = await raw(path, method, token, body)
            assert status == 403 and err["error"] == "forbidden", (path, method, token, err)
    _, listing = await raw("runtime/kernel/projects", token=dx_core.kernel_token)
    assert [p["name"] for p in listing["projects"]] == ["demo"]  # nothing was created


async def test_a_jupyter_login_alone_does_not_open_the_kernel_routes(dx_api):
    status, err = await dx_api("runtime/kernel/projects")
    assert status == 403 and "kernel token" in err["message"]


async def test_the_kernel_token_opens_no_route_outside_runtime(raw, dx_core):
    for path in ("projects", "secrets/platform", "openapi.json"):
        status, _ = await raw(path, token=dx_core.kernel_token)
        assert status == 403, path


async def test_only_the_mirrored_methods_are_answered(raw, dx_api, dx_core):
    await make_project(dx_api, "demo")
    await make_package(dx_api, "demo", "pkg", {"a.py": SCRIPT})
    token = dx_core.kernel_token
    for path, method in (("runtime/kernel/projects/demo", "DELETE"), ("runtime/kernel/projects/demo/packages/pkg", "DELETE"),
                         ("runtime/kernel/secrets/platform", "DELETE")):
        status, _ = await raw(path, method, token)
        assert status == 405, (path, method)
    assert (await dx_api("projects/demo"))[0] == 200


async def test_an_execution_token_still_reads_its_own_chain_only(raw, dx_api, dx_core):
    """The kernel routes change nothing for scripts: the runtime secret route as before."""
    await make_project(dx_api, "demo")
    await make_package(dx_api, "demo", "pkg", {"a.py": SCRIPT}, secrets={"MINE": "pkg-value"})
    await make_project(dx_api, "other")
    await make_package(dx_api, "other", "theirs", {"a.py": SCRIPT}, secrets={"THEIRS": "their-value"})
    _, exec_token = await _execution_token(dx_core, "demo", "pkg")
    assert await raw("runtime/secrets/MINE", token=exec_token) == (200, {"name": "MINE", "value": "pkg-value"})
    status, _ = await raw("runtime/secrets/THEIRS?project=other&package=theirs", token=exec_token)
    assert status == 403


def test_every_kernel_route_is_under_runtime_kernel_and_mirrors_a_rest_route():
    table = route_table()
    rest = {pattern: handler for pattern, handler in table}
    kernel_routes = [(p, h) for p, h in table if h.__module__ == kernel_handlers.__name__]
    assert len(kernel_routes) == 12
    for pattern, handler in kernel_routes:
        assert pattern.startswith("/dx/api/runtime/kernel/")
        mirrored = pattern.replace("/runtime/kernel", "", 1)
        assert mirrored in rest and issubclass(handler, rest[mirrored]), pattern
