"""Helpers shared by the REST API tests (tests/test_api_*.py, tests/test_openapi.py).

Multipart bodies, the seed package of the platform's secrets page, canary secret values, and
the route table turned into URL templates that a test can fill in.
"""
from __future__ import annotations

import json
import re
import uuid
from typing import Any, Iterable, Optional, Union

from sqlalchemy import func, select
from tornado.web import RequestHandler

from dx_jupyter.routes import API, route_table

# The seed flow of reference/seed-secrets-page.md.
TEST_SECRETS_PY = (
    b"from ferris_ef import get_secret, get_param\n"
    b"\n"
    b"print(f\"DB NAME: {get_secret('DB_NAME')}\")\n"
    b"print(f\"DB PASS: {get_secret('DB_PASS')}\")\n"
    b"\n"
    b"print(f\"PACKAGE NAME: {get_param('package_name')}\")\n"
)
SEED_SECRETS = {"DB_NAME": "test_db", "DB_PASS": "supersecretpas$"}
SEED_SECRETS_JSON = json.dumps(SEED_SECRETS, indent=4).encode()

HTTP_METHODS = ("get", "post", "put", "patch", "delete")

File = tuple[str, bytes, str]  # (filename, content, content type)
Field = tuple[str, Union[str, File]]


def multipart(fields: Iterable[Field]) -> tuple[bytes, str]:
    """Encode form fields (`(name, "text")` or `(name, (filename, bytes, type))`) as multipart.

    Returns the body and the Content-Type header value with its boundary.
    """
    boundary = f"dx-boundary-{uuid.uuid4().hex}"
    out = bytearray()
    for name, value in fields:
        out += f"--{boundary}\r\n".encode()
        if isinstance(value, tuple):
            filename, content, ctype = value
            out += (
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {ctype}\r\n\r\n"
            ).encode()
            out += content
        else:
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            out += value.encode()
        out += b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def script(name: str, content: bytes) -> Field:
    return ("scripts", (name, content, "text/x-python"))


def json_file(field: str, filename: str, content: Union[bytes, Any]) -> Field:
    data = content if isinstance(content, bytes) else json.dumps(content).encode()
    return (field, (filename, data, "application/json"))


async def post_form(dx_api, path: str, fields: Iterable[Field], method: str = "POST"):
    body, ctype = multipart(fields)
    return await dx_api(path, method, raw=body, headers={"Content-Type": ctype})


async def create_project(dx_api, name: str = "demo") -> dict:
    status, body = await dx_api("projects", "POST", {"name": name})
    assert status == 201, body
    return body


async def create_seed_package(
    dx_api,
    project: str = "demo",
    package: str = "secrets-demo",
    secrets: Optional[bytes] = SEED_SECRETS_JSON,
    secrets_as_script: bool = False,
    extra: Iterable[Field] = (),
) -> dict:
    """The seed flow: test_secrets.py plus secrets.json (own field, or among the scripts)."""
    fields: list[Field] = [("name", package), ("description", "seed"), script("test_secrets.py", TEST_SECRETS_PY)]
    if secrets is not None:
        fields.append(json_file("scripts" if secrets_as_script else "secrets", "secrets.json", secrets))
    fields.extend(extra)
    status, body = await post_form(dx_api, f"projects/{project}/packages", fields)
    assert status == 201, body
    return body


# ----- the route table as templates -----
_GROUP = re.compile(r"\((?:[^()\\]|\\.)*\)")


def route_template(pattern: str) -> str:
    """`/dx/api/projects/([^/]+)/secrets` -> `/projects/{}/secrets` (relative to /dx/api)."""
    assert pattern.startswith(API), pattern
    return _GROUP.sub("{}", pattern[len(API):]).replace(r"\.", ".")


def spec_template(path: str) -> str:
    """`/projects/{project}/secrets` -> `/projects/{}/secrets`."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def handler_methods(handler: type) -> set[str]:
    """The HTTP methods a handler class implements: defined on it (not tornado's 405
    placeholders) and among its SUPPORTED_METHODS (a subclass may answer fewer verbs)."""
    return {
        m for m in HTTP_METHODS
        if getattr(handler, m) is not getattr(RequestHandler, m)
        and m.upper() in handler.SUPPORTED_METHODS
    }


def routes() -> list[tuple[str, str, type]]:
    """(regex, template, handler) for every route."""
    return [(pattern, route_template(pattern), handler) for pattern, handler in route_table()]


def is_runtime(template: str) -> bool:
    return template.startswith("/runtime/")


def fill(template: str, values: Iterable[str]) -> str:
    out = template
    for value in values:
        out = out.replace("{}", value, 1)
    assert "{}" not in out, (template, out)
    return out


def count(dx_core, model, **where) -> int:
    """Rows of `model` matching `where`, read straight from the running server's store."""
    with dx_core.backend.store.read() as session:
        stmt = select(func.count()).select_from(model)
        for column, value in where.items():
            stmt = stmt.where(getattr(model, column) == value)
        return session.scalar(stmt)


def assert_error(status, body, expected_status, *words):
    """A JSON error of the expected status whose message names every one of `words`."""
    assert status == expected_status, body
    assert set(body) == {"error", "message"}, body
    assert body["message"], body
    for word in words:
        assert word.lower() in body["message"].lower(), body
