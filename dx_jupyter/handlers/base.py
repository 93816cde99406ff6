"""What every dx_jupyter handler shares: auth, JSON, errors, and running services off the loop."""
from __future__ import annotations

import functools
import json
from typing import Any, Awaitable, Callable, Optional, TypeVar

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler

from ..errors import DXError, InvalidInput

T = TypeVar("T")
AUTH_RESOURCE = "dx"

STATUS = {
    "invalid_input": 400,
    "invalid_content": 422,
    "too_large": 413,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "integrity_failure": 500,
    "master_key_mismatch": 500,
}


class DXHTTPError(tornado.web.HTTPError):
    def __init__(self, err: DXError) -> None:
        super().__init__(STATUS.get(err.kind, 400), reason=None)
        self.kind = err.kind
        self.message = err.message


def translate_errors(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    @functools.wraps(method)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
        try:
            return await method(self, *args, **kwargs)
        except DXError as err:
            raise DXHTTPError(err) from None

    return wrapper


def api(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Jupyter authentication, then authorization on resource `dx`, then error mapping."""
    return tornado.web.authenticated(authorized(translate_errors(method)))


class DXHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def dx(self) -> Any:
        return self.settings["dx"]

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking store or crypto work on the extension's thread pool."""
        return await self.dx.run_blocking(functools.partial(fn, *args, **kwargs))

    def json_body(self, required: bool = True) -> Any:
        body = self.request.body
        if not body:
            if required:
                raise InvalidInput("the request needs a JSON body")
            return None
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InvalidInput(f"the request body is not valid JSON: {err}") from None

    def json_object(self, required: bool = True) -> dict[str, Any]:
        body = self.json_body(required)
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise InvalidInput("the request body must be a JSON object")
        return body

    def reply(self, obj: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(obj))

    def no_content(self) -> None:
        self.set_status(204)
        self.finish()

    def int_argument(self, name: str, default: int) -> int:
        raw: Optional[str] = self.get_query_argument(name, None)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise InvalidInput(f"query argument {name!r} must be an integer, got {raw!r}") from None

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, DXHTTPError):
            body = {"error": exc.kind, "message": exc.message}
        elif isinstance(exc, tornado.web.HTTPError):
            message = exc.log_message % exc.args if exc.log_message and exc.args else exc.log_message
            body = {"error": _kind(status_code), "message": message or self._reason}
        else:
            body = {"error": "internal_error", "message": "internal server error; see the server log"}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


def _kind(status: int) -> str:
    return {400: "invalid_input", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
            409: "conflict", 413: "too_large"}.get(status, "error")
