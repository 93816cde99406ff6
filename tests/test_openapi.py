"""dx_jupyter/openapi.json is kept true: every route and method is in it, nothing stale, it is
valid OpenAPI 3.0, it is what /dx/api/openapi.json serves, real answers match its schemas, and
docs/rest-api.md lists the same routes."""
import asyncio
import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
from openapi_spec_validator import validate as validate_openapi

from api_helpers import (
    HTTP_METHODS,
    create_project,
    create_seed_package,
    handler_methods,
    json_file,
    post_form,
    routes,
    spec_template,
)
from dx_jupyter.routes import API

ROOT = Path(__file__).resolve().parent.parent
SPEC_FILE = ROOT / "dx_jupyter" / "openapi.json"
DOC_FILE = ROOT / "docs" / "rest-api.md"
SPEC = json.loads(SPEC_FILE.read_text())

# a value for each path parameter name, valid for its schema and its route's group
SAMPLES = {"project": "demo", "package": "secrets-demo", "script": "test_secrets.py", "name": "DB_PASS",
           "execution": "0123456789abcdef0123456789abcdef", "number": "1",
           "job": "0123456789abcdef0123456789abcdef"}


def spec_paths() -> dict[str, str]:
    """Normalized template -> spec path."""
    return {spec_template(path): path for path in SPEC["paths"]}


def spec_methods(path: str) -> set[str]:
    return {m for m in SPEC["paths"][path] if m in HTTP_METHODS}


def operations():
    for path, item in SPEC["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def parameters(path: str, method: str) -> list[dict]:
    item = SPEC["paths"][path]
    found = item.get("parameters", []) + item[method].get("parameters", [])
    return [resolve(p) for p in found]


def resolve(obj: dict) -> dict:
    while "$ref" in obj:
        node = SPEC
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part]
        obj = node
    return obj


# ----- routes <-> spec -----
def test_every_route_is_a_spec_path():
    paths = spec_paths()
    missing = [template for _, template, _ in routes() if template not in paths]
    assert missing == []


def test_every_spec_path_is_a_route():
    templates = {template for _, template, _ in routes()}
    stale = [path for path in SPEC["paths"] if spec_template(path) not in templates]
    assert stale == []


@pytest.mark.parametrize("pattern,template,handler", routes(), ids=[t for _, t, _ in routes()])
def test_spec_methods_are_the_handler_methods(pattern, template, handler):
    path = spec_paths()[template]
    assert spec_methods(path) == handler_methods(handler), path


@pytest.mark.parametrize("pattern,template,handler", routes(), ids=[t for _, t, _ in routes()])
def test_path_parameters_fill_the_route_groups(pattern, template, handler):
    path = spec_paths()[template]
    names = re.findall(r"\{([^}]+)\}", path)
    for method in spec_methods(path):
        declared = {p["name"]: p for p in parameters(path, method) if p["in"] == "path"}
        assert set(declared) == set(names), (path, method)
        for name in names:
            assert declared[name]["required"] is True
            sample = SAMPLES[name]
            value = int(sample) if declared[name]["schema"].get("type") == "integer" else sample
            jsonschema.validate(value, declared[name]["schema"])
    filled = path
    for name in names:
        filled = filled.replace("{" + name + "}", SAMPLES[name])
    assert re.fullmatch(pattern, API + filled), (pattern, filled)


# ----- the document itself -----
def test_spec_is_valid_openapi_3_0():
    assert SPEC["openapi"].startswith("3.0.")
    validate_openapi(copy.deepcopy(SPEC))


def test_operation_ids_are_unique():
    ids = [op["operationId"] for _, _, op in operations()]
    assert len(ids) == len(set(ids))


def test_every_operation_documents_403_and_a_success():
    for path, method, op in operations():
        codes = set(op["responses"])
        assert "403" in codes, (path, method)
        assert any(c.startswith("2") for c in codes), (path, method)


def test_routes_use_the_jupyter_token_and_runtime_routes_the_dx_token():
    schemes = SPEC["components"]["securitySchemes"]
    assert schemes["jupyterToken"] == {**schemes["jupyterToken"], "type": "apiKey", "in": "header",
                                       "name": "Authorization"}
    assert schemes["dxToken"] == {**schemes["dxToken"], "type": "apiKey", "in": "header", "name": "X-DX-Token"}
    assert SPEC["security"] == [{"jupyterToken": []}]
    for path, method, op in operations():
        if path.startswith("/runtime/"):
            assert op.get("security") == [{"dxToken": []}], (path, method)
        else:
            assert "security" not in op, (path, method)


def test_documented_schemas_are_present():
    expected = {"Project", "Package", "Script", "SecretMeta", "UploadResult", "Execution", "Step",
                "StepResult", "Error"}
    assert expected <= set(SPEC["components"]["schemas"])


def test_package_upload_documents_its_multipart_fields():
    form = resolve(SPEC["paths"]["/projects/{project}/packages"]["post"]["requestBody"]
                   ["content"]["multipart/form-data"]["schema"])
    props = form["properties"]
    assert props["scripts"] == {**props["scripts"], "type": "array",
                                "items": {"type": "string", "format": "binary"}}
    for field in ("secrets", "config"):
        assert (props[field]["type"], props[field]["format"]) == ("string", "binary")
    assert {"name", "description"} <= set(props) and form["required"] == ["name"]


def test_query_parameters_are_documented():
    def query(path, method):
        return {p["name"] for p in parameters(path, method) if p["in"] == "query"}

    assert query("/projects/{project}/packages", "get") == {"q"}
    assert query("/projects/{project}/packages/{package}/executions", "get") == {"offset", "limit"}
    for path in ("/secrets/platform", "/projects/{project}/secrets", "/projects/{project}/packages/{package}/secrets"):
        assert query(path, "put") == {"mode"}


# ----- served -----
async def test_served_spec_equals_the_file(dx_api):
    status, body = await dx_api("openapi.json")
    assert status == 200
    assert body == SPEC


# ----- real answers match the schemas -----
def json_schema(spec: dict) -> dict:
    """The spec's components as a JSON Schema 2020-12 document (OpenAPI 3.0 `nullable` and refs)."""

    def convert(node):
        if isinstance(node, list):
            return [convert(n) for n in node]
        if not isinstance(node, dict):
            return node
        out = {k: convert(v) for k, v in node.items() if k not in ("nullable", "example")}
        if "$ref" in out:
            out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
        if node.get("nullable") and "type" in out:
            out["type"] = [out["type"], "null"]
        return out

    return {"$defs": convert(spec["components"]["schemas"])}


DEFS = json_schema(SPEC)


def response_schema(path: str, method: str, status: int) -> dict:
    responses = SPEC["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document {status}"
    content = resolve(responses[str(status)])["content"]["application/json"]
    return convert_ref(content["schema"])


def convert_ref(schema: dict) -> dict:
    return json_schema({"components": {"schemas": {"_": schema}}})["$defs"]["_"]


def check(path: str, method: str, status: int, body) -> None:
    schema = {**DEFS, **response_schema(path, method, status)}
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
                                    ).validate(body)


def test_schemas_refuse_an_undocumented_field():
    project = {"id": "0" * 32, "name": "demo", "description": "", "created_at": "2026-11-29T07:40:00Z",
               "updated_at": "2026-11-29T07:40:00Z"}
    check("/projects/{project}", "get", 200, project)
    with pytest.raises(jsonschema.ValidationError):
        check("/projects/{project}", "get", 200, {**project, "secret_value": "x"})
    with pytest.raises(jsonschema.ValidationError):
        check("/projects/{project}", "get", 404, {"error": "not_found"})


async def test_project_answers_match_the_schemas(dx_api):
    status, body = await dx_api("projects", "POST", {"name": "demo", "description": "d"})
    check("/projects", "post", status, body)
    check("/projects/{project}", "get", *(await dx_api("projects/demo")))
    check("/projects", "get", *(await dx_api("projects")))


async def test_package_answers_match_the_schemas(dx_api):
    await create_project(dx_api)
    created = await create_seed_package(dx_api, extra=[json_file("config", "config.json", {"LOG": "INFO"})])
    assert "secrets" in created
    check("/projects/{project}/packages", "post", 201, created)
    status, body = await dx_api("projects/demo/packages", "POST", {"name": "plain"})
    check("/projects/{project}/packages", "post", status, body)
    check("/projects/{project}/packages/{package}", "get", *(await dx_api("projects/demo/packages/secrets-demo")))
    check("/projects/{project}/packages", "get", *(await dx_api("projects/demo/packages", params={"q": "s"})))
    status, body = await dx_api("projects/demo/packages/secrets-demo", "PATCH", {"description": "x"})
    check("/projects/{project}/packages/{package}", "patch", status, body)


async def test_secret_answers_match_the_schemas(dx_api):
    await create_project(dx_api)
    await create_seed_package(dx_api)
    for path, url in (("/secrets/platform", "secrets/platform"),
                      ("/projects/{project}/secrets", "projects/demo/secrets"),
                      ("/projects/{project}/packages/{package}/secrets", "projects/demo/packages/secrets-demo/secrets")):
        check(path, "put", *(await dx_api(url, "PUT", {"A": 1, "B": {"c": [1]}})))
        check(path, "put", *(await dx_api(url, "PUT", raw=b'{"A": 2}', params={"mode": "replace"})))
        check(path, "get", *(await dx_api(url)))
        check(path + "/{name}", "put", *(await dx_api(url + "/C", "PUT", {"value": "v"})))


async def test_error_answers_match_the_schemas(dx_api):
    await create_project(dx_api)
    await create_seed_package(dx_api)
    cases = [
        ("/projects", "post", "projects", "POST", {"raw": b"[1]"}),
        ("/projects", "post", "projects", "POST", {"body": {"name": "demo"}}),
        ("/projects/{project}", "get", "projects/nope", "GET", {}),
        ("/projects/{project}/packages/{package}", "patch", "projects/demo/packages/secrets-demo", "PATCH",
         {"body": {"script_order": ["nope.py"]}}),
        ("/projects/{project}/packages/{package}/scripts/{script}", "get",
         "projects/demo/packages/secrets-demo/scripts/secrets.json", "GET", {}),
        ("/secrets/platform", "put", "secrets/platform", "PUT", {"raw": b'{"A": 1, "A": 2}'}),
        ("/secrets/platform", "put", "secrets/platform", "PUT", {"raw": b"{}", "params": {"mode": "x"}}),
        ("/secrets/platform/{name}", "delete", "secrets/platform/NOPE", "DELETE", {}),
        ("/secrets/platform/{name}", "put", "secrets/platform/A", "PUT", {"body": {"v": 1}}),
    ]
    seen = set()
    for path, method, url, verb, kwargs in cases:
        status, body = await dx_api(url, verb, **kwargs)
        assert 400 <= status < 500
        check(path, method, status, body)
        seen.add(status)
    assert seen == {400, 404, 409, 422}


@pytest.mark.parametrize("dx_config", [{"max_secrets_file_bytes": 16}])
async def test_too_large_answer_matches_the_schema(dx_api):
    await create_project(dx_api)
    status, body = await post_form(dx_api, "projects/demo/packages", [
        ("name", "p"), json_file("secrets", "secrets.json", {"DB_PASS": "x" * 32})])
    assert status == 413
    check("/projects/{project}/packages", "post", status, body)


async def test_execution_answers_match_the_schemas(dx_api):
    await create_project(dx_api)
    await create_seed_package(dx_api)
    status, execution = await dx_api("projects/demo/packages/secrets-demo/executions", "POST", {"params": {"x": 1}})
    check("/projects/{project}/packages/{package}/executions", "post", status, execution)
    for _ in range(400):
        status, execution = await dx_api(f"executions/{execution['id']}")
        if execution["status"] in ("completed", "failed", "cancelled"):
            break
        await asyncio.sleep(0.05)
    check("/executions/{execution}", "get", status, execution)
    check("/executions/{execution}/steps", "get", *(await dx_api(f"executions/{execution['id']}/steps")))
    check("/executions/{execution}/steps/{number}/result", "get",
          *(await dx_api(f"executions/{execution['id']}/steps/1/result")))
    check("/projects/{project}/packages/{package}/executions", "get",
          *(await dx_api("projects/demo/packages/secrets-demo/executions", params={"limit": 5})))
    check("/executions/{execution}/cancel", "post", *(await dx_api(f"executions/{execution['id']}/cancel", "POST")))


# ----- docs/rest-api.md -----
def doc_routes() -> set[tuple[str, str]]:
    """(method, normalized template) of the route table in docs/rest-api.md."""
    found = set()
    for line in DOC_FILE.read_text().splitlines():
        m = re.match(r"\|\s*([A-Z/]+)\s*\|\s*`([^`]+)`\s*\|", line)
        if m:
            for method in m.group(1).split("/"):
                found.add((method.lower(), spec_template(m.group(2))))
    return found


KERNEL_MIRROR = "/runtime/kernel/"


def test_docs_route_table_lists_every_route_and_method():
    """The tables of docs/rest-api.md against the spec; the notebook kernels' mirror of the API
    under /runtime/kernel/ is described there in prose, not row by row."""
    expected = {(m, spec_template(path)) for path, m, _ in operations() if not path.startswith(KERNEL_MIRROR)}
    assert doc_routes() == expected


def test_docs_describe_the_kernel_mirror_if_there_is_one():
    if any(t.startswith(KERNEL_MIRROR) for _, t, _ in routes()):
        assert KERNEL_MIRROR.rstrip("/") in DOC_FILE.read_text()
