"""Routes for scripts and kernels, authenticated by an `X-DX-Token` header, not a Jupyter login.

An execution token is random, stored hashed, valid only while its execution is pending or in
progress, and reaches only its own package's scope chain.
"""
from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated

from ..errors import Forbidden, InvalidInput
from .base import DXHandler, translate_errors

TOKEN_HEADER = "X-DX-Token"


class RuntimeHandler(DXHandler):
    def check_xsrf_cookie(self) -> None:
        """A custom header cannot be sent cross-site without CORS consent, so no XSRF check."""
        if not self.request.headers.get(TOKEN_HEADER):
            super().check_xsrf_cookie()

    async def identity(self) -> Any:
        token = self.request.headers.get(TOKEN_HEADER, "")
        if not token:
            raise Forbidden(f"the {TOKEN_HEADER} header is missing")
        return await self.call(
            self.dx.runtime_identity,
            token,
            self.get_query_argument("project", None),
            self.get_query_argument("package", None),
        )


class RuntimeSecretHandler(RuntimeHandler):
    @allow_unauthenticated
    @translate_errors
    async def get(self, name: str) -> None:
        who = await self.identity()
        value = await self.call(who.resolve, name)
        if value is None:
            self.reply({"error": "not_found", "message": f"no secret named {name!r} in reach"}, 404)
        else:
            self.reply({"name": name, "value": value})

    @allow_unauthenticated
    @translate_errors
    async def put(self, name: str) -> None:
        who = await self.identity()
        body = self.json_object()
        if "value" not in body or not isinstance(body.get("scope"), str):
            raise InvalidInput('the body must be {"value": <JSON>, "scope": "project"|"platform"|"package"}')
        info = await self.call(who.set, name, body["value"], body["scope"])
        self.reply(info.to_dict())


class RuntimeStateHandler(RuntimeHandler):
    @allow_unauthenticated
    @translate_errors
    async def get(self) -> None:
        who = await self.identity()
        self.reply({"state": await self.call(who.state_get)})

    @allow_unauthenticated
    @translate_errors
    async def put(self) -> None:
        who = await self.identity()
        body = self.json_object()
        if not isinstance(body.get("key"), str) or "value" not in body:
            raise InvalidInput('the body must be {"key": "<name>", "value": <JSON>}')
        self.reply({"state": await self.call(who.state_put, body["key"], body["value"])})
