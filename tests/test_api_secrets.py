"""REST API: scoped secrets (upload, list, set, delete), their bad input (invariant 7), and
invariant 2: no response of any route carries a secret value, and no route gives back an
uploaded secrets.json."""
import asyncio
import base64
import json
import uuid

import pytest

from api_helpers import (
    assert_error,
    count,
    TEST_SECRETS_PY,
    create_project,
    create_seed_package,
    fill,
    handler_methods,
    is_runtime,
    json_file,
    multipart,
    post_form,
    routes,
    script,
)
from dx_jupyter.store.models import DataKey, Secret

SCOPES = {
    "platform": "secrets/platform",
    "project": "projects/demo/secrets",
    "package": "projects/demo/packages/secrets-demo/secrets",
}
scopes = pytest.mark.parametrize("scope", list(SCOPES))


async def make_owners(dx_api) -> None:
    """Project `demo` with package `secrets-demo` (no secrets yet)."""
    await create_project(dx_api, "demo")
    await create_seed_package(dx_api, secrets=None)



async def listing(dx_api, scope) -> list:
    """(name, version) of a scope's secrets."""
    status, body = await dx_api(SCOPES[scope])
    assert status == 200, body
    assert body["scope"] == scope
    return [(s["name"], s["version"]) for s in body["secrets"]]


async def upload(dx_api, scope, doc, mode=None):
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return await dx_api(SCOPES[scope], "PUT", raw=raw, params={"mode": mode} if mode else None)


# ----- upload and list -----
@scopes
async def test_upload_secrets_json_answers_names_only(dx_api, scope):
    await make_owners(dx_api)
    status, body = await upload(dx_api, scope, {"DB_NAME": "test_db", "DB_PASS": "supersecretpas$"})
    assert status == 200, body
    assert body == {"scope": scope, "stored": ["DB_NAME", "DB_PASS"], "created": ["DB_NAME", "DB_PASS"],
                    "updated": [], "deleted": []}


@scopes
async def test_upload_as_multipart_field_secrets(dx_api, scope):
    await make_owners(dx_api)
    status, body = await post_form(dx_api, SCOPES[scope], [json_file("secrets", "secrets.json", {"K": "v"})], "PUT")
    assert status == 200, body
    assert body["created"] == ["K"]
    assert await listing(dx_api, scope) == [("K", 1)]


@scopes
async def test_list_gives_names_and_metadata_only(dx_api, scope):
    await make_owners(dx_api)
    await upload(dx_api, scope, {"B": "value-b", "A": {"nested": "value-a"}})
    status, body = await dx_api(SCOPES[scope])
    assert status == 200
    assert [s["name"] for s in body["secrets"]] == ["A", "B"]
    for meta in body["secrets"]:
        assert set(meta) == {"name", "scope", "version", "created_at", "updated_at"}
        assert meta["scope"] == scope
    assert "value-" not in json.dumps(body)


@scopes
async def test_empty_scope_lists_nothing(dx_api, scope):
    await make_owners(dx_api)
    assert await listing(dx_api, scope) == []


async def test_scopes_are_kept_apart(dx_api):
    await make_owners(dx_api)
    for scope in SCOPES:
        await upload(dx_api, scope, {f"ONLY_{scope.upper()}": 1})
    for scope in SCOPES:
        assert await listing(dx_api, scope) == [(f"ONLY_{scope.upper()}", 1)]


@scopes
async def test_reupload_updates_and_bumps_versions(dx_api, scope):
    await make_owners(dx_api)
    await upload(dx_api, scope, {"A": 1, "B": 2})
    status, body = await upload(dx_api, scope, {"B": 3, "C": 4})
    assert status == 200
    assert (body["created"], body["updated"], body["deleted"]) == (["C"], ["B"], [])
    assert await listing(dx_api, scope) == [("A", 1), ("B", 2), ("C", 1)]


@scopes
async def test_mode_replace_deletes_names_not_uploaded(dx_api, scope):
    await make_owners(dx_api)
    await upload(dx_api, scope, {"A": 1, "B": 2})
    status, body = await upload(dx_api, scope, {"B": 3, "C": 4}, mode="replace")
    assert status == 200, body
    assert (body["stored"], body["deleted"]) == (["B", "C"], ["A"])
    assert await listing(dx_api, scope) == [("B", 2), ("C", 1)]


@scopes
async def test_mode_upsert_is_the_default_and_can_be_named(dx_api, scope):
    await make_owners(dx_api)
    await upload(dx_api, scope, {"A": 1})
    status, body = await upload(dx_api, scope, {"B": 2}, mode="upsert")
    assert status == 200 and body["deleted"] == []
    assert await listing(dx_api, scope) == [("A", 1), ("B", 1)]


async def test_package_secrets_are_readable_by_the_package_chain(dx_api, dx_core):
    await make_owners(dx_api)
    await upload(dx_api, "platform", {"SHARED": "platform", "PLATFORM_ONLY": 1})
    await upload(dx_api, "project", {"SHARED": "project"})
    await upload(dx_api, "package", {"SHARED": "package"})
    secrets = dx_core.backend.secrets
    assert secrets.resolve("SHARED", "demo", "secrets-demo") == "package"
    assert secrets.resolve("SHARED", "demo") == "project"
    assert secrets.resolve("PLATFORM_ONLY", "demo", "secrets-demo") == 1


# ----- one secret: PUT and DELETE -----
@scopes
async def test_put_one_secret_answers_its_metadata(dx_api, dx_core, scope):
    await make_owners(dx_api)
    status, body = await dx_api(f"{SCOPES[scope]}/API_KEY", "PUT", {"value": {"user": "u", "key": "k"}})
    assert status == 200, body
    assert set(body) == {"name", "scope", "version", "created_at", "updated_at"}
    assert (body["name"], body["scope"], body["version"]) == ("API_KEY", scope, 1)
    assert await listing(dx_api, scope) == [("API_KEY", 1)]


@scopes
async def test_put_one_secret_again_bumps_its_version(dx_api, scope):
    await make_owners(dx_api)
    await dx_api(f"{SCOPES[scope]}/API_KEY", "PUT", {"value": "one"})
    status, body = await dx_api(f"{SCOPES[scope]}/API_KEY", "PUT", {"value": "two"})
    assert (status, body["version"]) == (200, 2)


async def test_put_one_secret_stores_the_value_for_the_scope(dx_api, dx_core):
    await make_owners(dx_api)
    await dx_api("projects/demo/secrets/API_KEY", "PUT", {"value": ["a", 1, True]})
    assert dx_core.backend.secrets.resolve("API_KEY", "demo") == ["a", 1, True]


@scopes
async def test_delete_one_secret_answers_204_and_forgets_it(dx_api, dx_core, scope):
    await make_owners(dx_api)
    await upload(dx_api, scope, {"A": 1, "B": 2})
    status, body = await dx_api(f"{SCOPES[scope]}/A", "DELETE")
    assert (status, body) == (204, None)
    assert await listing(dx_api, scope) == [("B", 1)]
    assert dx_core.backend.secrets.resolve("A", "demo", "secrets-demo") is None


# ----- invariant 7: bad input is a 4xx JSON error, and nothing is stored -----
async def test_delete_unknown_secret_is_404_naming_it(dx_api):
    await make_owners(dx_api)
    for scope in SCOPES:
        await upload(dx_api, scope, {"A": 1})
        status, body = await dx_api(f"{SCOPES[scope]}/NOPE", "DELETE")
        assert_error(status, body, 404, "NOPE")
        assert await listing(dx_api, scope) == [("A", 1)]


@pytest.mark.parametrize(
    "path",
    ["projects/nope/secrets", "projects/demo/packages/nope/secrets", "projects/nope/packages/secrets-demo/secrets"],
)
@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_secrets_of_unknown_owner_are_404(dx_api, dx_core, path, method):
    await make_owners(dx_api)
    status, body = await dx_api(path, method, raw=b'{"A": 1}' if method == "PUT" else None)
    assert_error(status, body, 404, "nope")
    assert count(dx_core, Secret) == 0


@pytest.mark.parametrize("method,body", [("PUT", {"value": 1}), ("DELETE", None)])
async def test_one_secret_of_unknown_owner_is_404(dx_api, dx_core, method, body):
    await make_owners(dx_api)
    for path in ("projects/nope/secrets/A", "projects/demo/packages/nope/secrets/A"):
        status, answer = await dx_api(path, method, body)
        assert_error(status, answer, 404, "nope")
    assert count(dx_core, Secret) == 0


async def test_bad_mode_is_400_and_stores_nothing(dx_api):
    await make_owners(dx_api)
    for scope in SCOPES:
        await upload(dx_api, scope, {"A": 1})
        status, body = await upload(dx_api, scope, {"B": 2}, mode="merge")
        assert_error(status, body, 400, "merge", "upsert", "replace")
        assert await listing(dx_api, scope) == [("A", 1)]


@pytest.mark.parametrize(
    "raw",
    [b"{}", b'{"value": 1, "scope": "project"}', b'{"val": 1}', b"[1]", b'"x"', b"{value: 1}", b""],
    ids=["empty-object", "extra-field", "misnamed", "array", "string", "bad-json", "no-body"],
)
async def test_put_one_secret_needs_a_value_object(dx_api, dx_core, raw):
    await make_owners(dx_api)
    for scope in SCOPES:
        status, body = await dx_api(f"{SCOPES[scope]}/API_KEY", "PUT", raw=raw or None)
        assert status == 400, (scope, body)
        assert set(body) == {"error", "message"} and body["message"]
        assert await listing(dx_api, scope) == []
    assert count(dx_core, Secret) == 0


@pytest.mark.parametrize("name", ["1ABC", ".hidden", "a b", "x" * 129])
async def test_put_one_secret_with_invalid_name_is_400(dx_api, dx_core, name):
    await make_owners(dx_api)
    status, body = await dx_api(f"secrets/platform/{name}", "PUT", {"value": 1})
    assert_error(status, body, 400, "name")
    assert count(dx_core, Secret) == 0


async def test_put_one_secret_with_null_value_is_422(dx_api, dx_core):
    await make_owners(dx_api)
    status, body = await dx_api("secrets/platform/A", "PUT", {"value": None})
    assert_error(status, body, 422, "null")
    assert count(dx_core, Secret) == 0


@pytest.mark.parametrize("dx_config", [{"max_secret_bytes": 32}])
async def test_put_one_secret_over_the_value_limit_is_413(dx_api, dx_core):
    await make_owners(dx_api)
    status, body = await dx_api("secrets/platform/A", "PUT", {"value": "x" * 64})
    assert_error(status, body, 413, "'A'", "32")
    assert count(dx_core, Secret) == 0


@pytest.mark.parametrize("dx_config", [{"max_secrets_file_bytes": 64}])
async def test_oversized_secrets_json_is_413_and_stores_nothing(dx_api):
    await make_owners(dx_api)
    for scope in SCOPES:
        await upload(dx_api, scope, {"A": 1})
        status, body = await upload(dx_api, scope, {"B": "x" * 100}, mode="replace")
        assert_error(status, body, 413, "secrets.json", "64")
        assert await listing(dx_api, scope) == [("A", 1)]


@pytest.mark.parametrize(
    "content,status_code,words",
    [
        (b'["A", 1]', 422, ("object", "array")),
        (b"42", 422, ("object", "number")),
        (b'{"A": 1, "B": 2, "A": 3}', 422, ("duplicate", "'A'")),
        (b'{"A": 1,}', 422, ("JSON", "line 1")),
        (b'{"A": NaN}', 422, ("NaN",)),
        (b'{"A": null}', 422, ("'A'", "null")),
        (b"", 422, ("empty",)),
        (b'{"1A": 1}', 422, ("1A",)),
        (b'{"A": "\xff"}', 422, ("UTF-8",)),
    ],
    ids=["array", "number", "duplicate-keys", "invalid-json", "nan", "null", "empty", "bad-name", "not-utf8"],
)
async def test_unacceptable_secrets_json_is_refused_and_changes_nothing(dx_api, content, status_code, words):
    await make_owners(dx_api)
    for scope in SCOPES:
        await upload(dx_api, scope, {"A": 1, "KEEP": 2})
        status, body = await upload(dx_api, scope, content, mode="replace")
        assert_error(status, body, status_code, *words)
        assert await listing(dx_api, scope) == [("A", 1), ("KEEP", 1)]


async def test_upload_with_two_files_is_400_and_stores_nothing(dx_api, dx_core):
    await make_owners(dx_api)
    fields = [json_file("secrets", "secrets.json", {"A": 1}), json_file("secrets", "more.json", {"B": 1})]
    status, body = await post_form(dx_api, SCOPES["platform"], fields, "PUT")
    assert_error(status, body, 400, "one")
    assert count(dx_core, Secret) == 0


async def test_multipart_upload_without_the_secrets_file_is_400(dx_api, dx_core):
    await make_owners(dx_api)
    status, body = await post_form(dx_api, SCOPES["platform"], [("secrets", '{"A": 1}')], "PUT")
    assert_error(status, body, 400, "secrets")
    assert count(dx_core, Secret) == 0


async def test_failed_package_upload_leaves_no_data_key(dx_api, dx_core):
    await create_project(dx_api, "demo")
    status, _ = await post_form(dx_api, "projects/demo/packages", [
        ("name", "p"), script("a.py", b"x = (\n"), json_file("secrets", "secrets.json", {"A": 1})])
    assert status == 422
    assert count(dx_core, Secret) == 0 and count(dx_core, DataKey) == 0


# ----- invariant 2: no response carries a secret value; secrets.json is never given back -----
def canary(kind: str) -> str:
    return f"canary-{kind}-{uuid.uuid4().hex}"


def needles(value: str) -> set[bytes]:
    """The forms a leaked value could take in a response."""
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    out = {f.encode() for f in forms}
    out.add(base64.b64encode(value.encode()))
    out.add(base64.urlsafe_b64encode(value.encode()).rstrip(b"="))
    return out


class Recorder:
    """Sends requests with the Jupyter token and keeps every answer (status, headers, body)."""

    def __init__(self, jp_fetch):
        self.jp_fetch = jp_fetch
        self.seen: list[tuple[str, str, int, bytes]] = []

    async def __call__(self, path, method="GET", body=None, raw=None, headers=None, params=None):
        if raw is None and body is not None:
            raw = json.dumps(body).encode()
        if raw is None and method in ("POST", "PUT", "PATCH"):
            raw = b""
        resp = await self.jp_fetch(
            "dx", "api", *path.split("/"), method=method, body=raw, headers=headers or {},
            params=params, raise_error=False, allow_nonstandard_methods=True,
        )
        head = "\n".join(f"{k}: {v}" for k, v in resp.headers.get_all()).encode()
        self.seen.append((method, path, resp.code, head + b"\n\n" + (resp.body or b"")))
        return resp.code, resp.body

    async def json(self, path, method="GET", **kwargs):
        code, body = await self(path, method, **kwargs)
        return code, json.loads(body) if body else None

    def leaks(self, values) -> list:
        found = []
        for method, path, code, text in self.seen:
            for value in values:
                if any(n in text for n in needles(value)):
                    found.append((method, path, code, value))
        return found


async def seed_everything(rec: Recorder) -> list[str]:
    """Secrets in every scope, by every way in, plus failed writes that carry values too.

    Returns the canary values."""
    values = []

    def c(kind):
        values.append(canary(kind))
        return values[-1]

    quoted = f'canary "quoted" \\ ünï-{uuid.uuid4().hex}'
    values.append(quoted)
    assert (await rec("projects", "POST", {"name": "demo"}))[0] == 201
    seed = {"DB_NAME": c("db-name"), "DB_PASS": c("db-pass")}
    # the seed flow, secrets.json as its own field ...
    body, ctype = multipart([("name", "secrets-demo"), script("test_secrets.py", TEST_SECRETS_PY),
                             json_file("secrets", "secrets.json", seed)])
    assert (await rec("projects/demo/packages", "POST", raw=body, headers={"Content-Type": ctype}))[0] == 201
    # ... and among the scripts ("Add more scripts")
    body, ctype = multipart([("name", "among"), script("test_secrets.py", TEST_SECRETS_PY),
                             json_file("scripts", "secrets.json", {"DB_NAME": c("among"), "DB_PASS": quoted})])
    assert (await rec("projects/demo/packages", "POST", raw=body, headers={"Content-Type": ctype}))[0] == 201
    # uploads to each scope, a nested value, a replace
    for scope in SCOPES:
        doc = {"TOKEN": c(scope), "NESTED": {"list": [c(f"{scope}-leaf"), 1], "n": None is None}}
        assert (await rec(SCOPES[scope], "PUT", doc))[0] == 200
        assert (await rec(SCOPES[scope], "PUT", {"TOKEN": c(f"{scope}-2")}, params={"mode": "replace"}))[0] == 200
        assert (await rec(f"{SCOPES[scope]}/SINGLE", "PUT", {"value": {"k": c(f"{scope}-single")}}))[0] == 200
        body, ctype = multipart([json_file("secrets", "secrets.json", {"FORM": c(f"{scope}-form")})])
        assert (await rec(SCOPES[scope], "PUT", raw=body, headers={"Content-Type": ctype}))[0] == 200
    # the replace above removed the seed names from the package: put them back for the run
    assert (await rec(SCOPES["package"], "PUT", seed))[0] == 200
    # failed writes carrying values
    for scope in SCOPES:
        dup = f'{{"A": "{c("dup")}", "A": "{c("dup")}"}}'.encode()
        assert (await rec(SCOPES[scope], "PUT", raw=dup))[0] == 422
        assert (await rec(SCOPES[scope], "PUT", raw=f'{{"A": "{c("trailing")}",}}'.encode()))[0] == 422
        assert (await rec(SCOPES[scope], "PUT", {"1bad": c("badname")}))[0] == 422
        assert (await rec(SCOPES[scope], "PUT", {"BIG": c("big") + "x" * 70000}))[0] == 413
        assert (await rec(f"{SCOPES[scope]}/X", "PUT", {"value": c("extra"), "scope": "platform"}))[0] == 400
        assert (await rec(f"{SCOPES[scope]}/1bad", "PUT", {"value": c("badname-one")}))[0] == 400
    body, ctype = multipart([("name", "broken"), script("bad.py", b"x = (\n"),
                             json_file("secrets", "secrets.json", {"A": c("broken-pkg")})])
    assert (await rec("projects/demo/packages", "POST", raw=body, headers={"Content-Type": ctype}))[0] == 422
    body, ctype = multipart([("name", "secrets-demo"), json_file("secrets", "secrets.json", {"A": c("dup-pkg")})])
    assert (await rec("projects/demo/packages", "POST", raw=body, headers={"Content-Type": ctype}))[0] == 409
    assert (await rec("projects/demo/packages", "POST", {"name": "j", "secrets": {"A": c("json-pkg")}}))[0] == 400
    return values


async def run_to_the_end(rec: Recorder, package: str) -> str:
    code, execution = await rec.json(f"projects/demo/packages/{package}/executions", "POST", body={})
    assert code == 201, execution
    for _ in range(600):
        code, execution = await rec.json(f"executions/{execution['id']}")
        if execution["status"] in ("completed", "failed", "cancelled"):
            return execution["id"]
        await asyncio.sleep(0.05)
    raise AssertionError(f"execution did not finish: {execution}")


async def walk_every_get(rec: Recorder) -> set[str]:
    """GET every route that answers GET, with every name that exists; return the templates done."""
    _, projects = await rec.json("projects")
    names = {"project": [p["name"] for p in projects["projects"]]}
    packages, scripts, executions = [], [], []
    for project in names["project"]:
        _, answer = await rec.json(f"projects/{project}/packages")
        for pkg in answer["packages"]:
            packages.append((project, pkg["name"]))
            scripts += [(project, pkg["name"], s["name"]) for s in pkg["scripts"]]
            scripts.append((project, pkg["name"], "secrets.json"))
            _, page = await rec.json(f"projects/{project}/packages/{pkg['name']}/executions")
            executions += [(e["id"], e["steps"]) for e in page["executions"]]
    args = {
        "/openapi.json": [()],
        "/projects": [()],
        "/projects/{}": [(p,) for p in names["project"]],
        "/projects/{}/packages": [(p,) for p in names["project"]],
        "/projects/{}/packages/{}": packages,
        "/projects/{}/packages/{}/scripts/{}": scripts,
        "/secrets/platform": [()],
        "/projects/{}/secrets": [(p,) for p in names["project"]],
        "/projects/{}/packages/{}/secrets": packages,
        "/projects/{}/packages/{}/executions": packages,
        "/executions/{}": [(e,) for e, _ in executions],
        "/executions/{}/steps": [(e,) for e, _ in executions],
        "/executions/{}/steps/{}/result": [(e, str(s["number"])) for e, steps in executions for s in steps],
        "/projects/{}/packages/{}/jobs": packages,
        "/events": [()],
    }
    done = set()
    for _, template, handler in routes():
        if is_runtime(template) or "get" not in handler_methods(handler):
            continue
        assert template in args, f"walk_every_get does not know how to fill {template}; add it"
        assert args[template], f"nothing to fill {template} with"
        for values in args[template]:
            code, _ = await rec(fill(template, values).lstrip("/"))
            assert code == 200 or values[-1] == "secrets.json", (template, values, code)
        done.add(template)
    return done


async def try_every_write_with_bad_input(rec: Recorder, values: list, execution_id: str) -> None:
    """One refused request for every non-GET route and method, carrying a secret value."""
    v = values[0]
    bad = {
        ("/projects", "post"): dict(body={"name": "x", "secret": v}),
        ("/projects/{}", "delete"): dict(args=("nope",)),
        ("/projects/{}/packages", "post"): dict(args=("demo",), body={"name": "x", "secrets": {"A": v}}),
        ("/projects/{}/packages/{}", "patch"): dict(args=("demo", "secrets-demo"), body={"config": v}),
        ("/projects/{}/packages/{}", "delete"): dict(args=("demo", "nope")),
        ("/secrets/platform", "put"): dict(raw=f'{{"A": "{v}", "A": 1}}'.encode()),
        ("/secrets/platform/{}", "put"): dict(args=("A",), body={"value": v, "extra": v}),
        ("/secrets/platform/{}", "delete"): dict(args=("NOPE",)),
        ("/projects/{}/secrets", "put"): dict(args=("demo",), raw=f'["{v}"]'.encode()),
        ("/projects/{}/secrets/{}", "put"): dict(args=("demo", "A"), body={"valu": v}),
        ("/projects/{}/secrets/{}", "delete"): dict(args=("demo", "NOPE")),
        ("/projects/{}/packages/{}/secrets", "put"): dict(args=("demo", "secrets-demo"), raw=f'{{"A": "{v}"'.encode()),
        ("/projects/{}/packages/{}/secrets/{}", "put"): dict(args=("demo", "secrets-demo", "A"), body={"value": None}),
        ("/projects/{}/packages/{}/secrets/{}", "delete"): dict(args=("demo", "secrets-demo", "NOPE")),
        ("/projects/{}/packages/{}/executions", "post"): dict(args=("demo", "secrets-demo"), body={"secrets": v}),
        ("/executions/{}/cancel", "post"): dict(args=(execution_id,)),
        ("/projects/{}/packages/{}/jobs/{}", "delete"): dict(args=("demo", "secrets-demo", "nope")),
        ("/events", "post"): dict(body={"event_type": "a", "data": v}),
    }
    for _, template, handler in routes():
        if is_runtime(template):
            continue
        for method in sorted(handler_methods(handler) - {"get"}):
            assert (template, method) in bad, f"no refused request for {method.upper()} {template}; add one"
            spec = bad[(template, method)]
            code, _ = await rec(fill(template, spec.get("args", ())).lstrip("/"), method.upper(),
                                body=spec.get("body"), raw=spec.get("raw"))
            assert 400 <= code < 500, (method, template, code)


async def test_no_response_of_any_route_carries_a_secret_value(jp_fetch):
    rec = Recorder(jp_fetch)
    values = await seed_everything(rec)
    execution_id = await run_to_the_end(rec, "secrets-demo")
    await run_to_the_end(rec, "among")
    await walk_every_get(rec)
    await try_every_write_with_bad_input(rec, values, execution_id)
    assert len(rec.seen) > 80
    assert rec.leaks(values) == []


async def test_step_results_of_the_seed_run_are_redacted(jp_fetch):
    rec = Recorder(jp_fetch)
    await seed_everything(rec)
    execution_id = await run_to_the_end(rec, "secrets-demo")
    code, result = await rec.json(f"executions/{execution_id}/steps/1/result")
    assert code == 200
    assert "DB NAME: [REDACTED]\nDB PASS: [REDACTED]\n" in result["output"]
    assert result["redacted"] is True


async def test_no_route_gives_back_the_uploaded_secrets_json(jp_fetch):
    rec = Recorder(jp_fetch)
    values = await seed_everything(rec)
    names = {"/projects/{}/packages/{}/scripts/{}": ("demo", "secrets-demo")}
    for _, template, handler in routes():
        if is_runtime(template) or "get" not in handler_methods(handler) or not template.endswith("{}"):
            continue
        owners = names.get(template, ("demo", "secrets-demo")[: template.count("{}") - 1])
        for package in ("secrets-demo", "among"):
            owners = tuple(package if o == "secrets-demo" else o for o in owners)
            code, body = await rec(fill(template, owners + ("secrets.json",)).lstrip("/"))
            assert code in (400, 404), (template, code, body)
    for package in ("secrets-demo", "among"):
        code, body = await rec.json(f"projects/demo/packages/{package}/scripts/secrets.json")
        assert code == 404 and "secrets.json" in body["message"]
    assert rec.leaks(values) == []
