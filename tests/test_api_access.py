"""Invariant 6 over REST: every route of the API needs Jupyter authentication and authorization
on the resource `dx`. (The /runtime/* routes take the X-DX-Token header instead; their tests
are elsewhere.)"""
import json

import pytest
from jupyter_server.auth import Authorizer
from tornado.httpclient import AsyncHTTPClient

from api_helpers import create_project, create_seed_package, fill, handler_methods, is_runtime, routes

XSRF = "0123456789abcdef0123456789abcdef"
# A matching _xsrf cookie and header: the XSRF check passes, so only authentication can refuse.
XSRF_PAIR = {"Cookie": f"_xsrf={XSRF}", "X-XSRFToken": XSRF}
BODIES = {"post": b'{"name": "intruder"}', "put": b'{"INTRUDER": "x"}', "patch": b'{"description": "owned"}'}


class RecordingAuthorizer(Authorizer):
    """Allows everything; remembers what was asked about the `dx` resource."""

    calls: list = []

    def is_authorized(self, handler, user, action, resource):
        if resource == "dx":
            type(self).calls.append((handler.request.method, action))
        return True


class DenyDX(Authorizer):
    """Denies the resource `dx`, allows the rest of Jupyter."""

    def is_authorized(self, handler, user, action, resource):
        return resource != "dx"


@pytest.fixture
def authorizer():
    """The ServerApp.authorizer_class of a test (None: Jupyter's default); parametrize to change."""
    return None


@pytest.fixture
def jp_server_config(jp_server_config, authorizer):
    if authorizer is not None:
        jp_server_config["ServerApp"]["authorizer_class"] = authorizer
    return jp_server_config


async def world(dx_api) -> dict:
    """A project, a package with a script and secrets, a secret per scope, a finished execution:
    names that an authenticated request would find, so a 403 cannot be a disguised 404."""
    await create_project(dx_api, "demo")
    await create_seed_package(dx_api)
    for path in ("secrets/platform", "projects/demo/secrets"):
        assert (await dx_api(path, "PUT", {"A": "a-value"}))[0] == 200
    status, execution = await dx_api("projects/demo/packages/secrets-demo/executions", "POST", {})
    assert status == 201, execution
    return {
        "/projects/{}": ("demo",),
        "/projects/{}/packages": ("demo",),
        "/projects/{}/packages/{}": ("demo", "secrets-demo"),
        "/projects/{}/packages/{}/scripts/{}": ("demo", "secrets-demo", "test_secrets.py"),
        "/secrets/platform/{}": ("A",),
        "/projects/{}/secrets": ("demo",),
        "/projects/{}/secrets/{}": ("demo", "A"),
        "/projects/{}/packages/{}/secrets": ("demo", "secrets-demo"),
        "/projects/{}/packages/{}/secrets/{}": ("demo", "secrets-demo", "DB_PASS"),
        "/projects/{}/packages/{}/executions": ("demo", "secrets-demo"),
        "/executions/{}": (execution["id"],),
        "/executions/{}/steps": (execution["id"],),
        "/executions/{}/steps/{}/result": (execution["id"], "1"),
        "/executions/{}/cancel": (execution["id"],),
        "/projects/{}/packages/{}/jobs": ("demo", "secrets-demo"),
    }


def placeholder_values(template: str) -> tuple:
    """Values that match a route's groups, for routes a test gave no real names for."""
    if template.startswith("/executions/"):
        return ("0" * 32, "1")[: template.count("{}")]
    return ("x",) * template.count("{}")


def requests(names: dict):
    """(method, path under dx/api) for every method of every route but /runtime/*."""
    for _, template, handler in routes():
        if is_runtime(template):
            continue
        for method in sorted(handler_methods(handler)):
            yield method.upper(), fill(template, names.get(template, placeholder_values(template))).lstrip("/")


async def raw_fetch(jp_http_port, jp_base_url, method, path, headers):
    """A plain tornado client: no Authorization header unless given."""
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}dx/api/{path}"
    return await AsyncHTTPClient().fetch(
        url, method=method, headers=headers, body=BODIES.get(method.lower()),
        raise_error=False, allow_nonstandard_methods=True, follow_redirects=False,
    )


async def snapshot(dx_api) -> list:
    out = []
    for path in ("projects", "projects/demo/packages", "secrets/platform", "projects/demo/secrets",
                 "projects/demo/packages/secrets-demo/secrets"):
        status, body = await dx_api(path)
        out.append((path, status, json.dumps(body, sort_keys=True)))
    return out


async def assert_all_refused(jp_http_port, jp_base_url, names, headers, not_about_xsrf):
    refused = []
    for method, path in requests(names):
        resp = await raw_fetch(jp_http_port, jp_base_url, method, path, headers)
        body = json.loads(resp.body)
        assert resp.code == 403, (method, path, resp.code, body)
        assert set(body) == {"error", "message"} and body["error"] == "forbidden", (method, path, body)
        if not_about_xsrf:
            assert "xsrf" not in body["message"].lower(), (method, path, body)
        refused.append((method, path))
    return refused


async def test_every_route_without_a_token_is_403(dx_api, jp_http_port, jp_base_url):
    names = await world(dx_api)
    refused = await assert_all_refused(jp_http_port, jp_base_url, names, {}, not_about_xsrf=False)
    assert len(refused) >= 27


async def test_every_route_without_a_token_is_403_even_past_the_xsrf_check(dx_api, jp_http_port, jp_base_url):
    names = await world(dx_api)
    await assert_all_refused(jp_http_port, jp_base_url, names, dict(XSRF_PAIR), not_about_xsrf=True)


async def test_every_route_with_a_wrong_token_is_403(dx_api, jp_http_port, jp_base_url):
    names = await world(dx_api)
    headers = {"Authorization": "token not-the-token", **XSRF_PAIR}
    await assert_all_refused(jp_http_port, jp_base_url, names, headers, not_about_xsrf=True)


async def test_the_token_in_another_scheme_is_403(dx_api, jp_http_port, jp_base_url, jp_serverapp):
    names = await world(dx_api)
    token = jp_serverapp.identity_provider.token
    await assert_all_refused(jp_http_port, jp_base_url, names, {"Authorization": f"Bearer-ish {token}",
                                                                **XSRF_PAIR}, not_about_xsrf=True)


async def test_refused_requests_change_nothing(dx_api, jp_http_port, jp_base_url):
    names = await world(dx_api)
    before = await snapshot(dx_api)
    for headers in ({}, dict(XSRF_PAIR), {"Authorization": "token wrong", **XSRF_PAIR}):
        for method, path in requests(names):
            await raw_fetch(jp_http_port, jp_base_url, method, path, headers)
    assert await snapshot(dx_api) == before


async def test_the_same_gets_with_the_token_succeed(dx_api, jp_http_port, jp_base_url, jp_serverapp):
    """The control of the tests above: the 403s come from the missing credentials."""
    names = await world(dx_api)
    auth = {"Authorization": f"token {jp_serverapp.identity_provider.token}"}
    for method, path in requests(names):
        if method == "GET":
            resp = await raw_fetch(jp_http_port, jp_base_url, method, path, auth)
            assert resp.code == 200, (path, resp.code, resp.body)


@pytest.mark.parametrize("authorizer", [DenyDX])
async def test_authorizer_denying_dx_gives_403_on_every_route(dx_api, dx_core, jp_http_port, jp_base_url,
                                                              jp_serverapp):
    # the world is built through the services: the REST API is closed to this user
    dx_core.backend.projects.create("demo")
    auth = {"Authorization": f"token {jp_serverapp.identity_provider.token}"}
    for method, path in requests({"/projects/{}": ("demo",), "/projects/{}/packages": ("demo",)}):
        resp = await raw_fetch(jp_http_port, jp_base_url, method, path, auth)
        body = json.loads(resp.body)
        assert resp.code == 403, (method, path, resp.code, body)
        assert "not authorized" in body["message"] and "dx" in body["message"], body
    assert [p["name"] for p in dx_core.backend.projects.list()] == ["demo"]


@pytest.mark.parametrize("authorizer", [DenyDX])
async def test_authorizer_denying_dx_leaves_the_rest_of_jupyter(dx_api, jp_fetch):
    status, body = await dx_api("projects")
    assert (status, body["error"]) == (403, "forbidden")
    resp = await jp_fetch("api", "status")
    assert resp.code == 200 and "started" in json.loads(resp.body)


@pytest.mark.parametrize("authorizer", [RecordingAuthorizer])
async def test_authorizer_is_asked_read_for_gets_and_write_for_changes(dx_api):
    RecordingAuthorizer.calls = []
    await dx_api("projects")
    await dx_api("projects", "POST", {"name": "demo"})
    await dx_api("secrets/platform", "PUT", {"A": 1})
    await dx_api("secrets/platform/A", "DELETE")
    await dx_api("projects/demo", "DELETE")
    assert RecordingAuthorizer.calls == [
        ("GET", "read"), ("POST", "write"), ("PUT", "write"), ("DELETE", "write"), ("DELETE", "write"),
    ]
