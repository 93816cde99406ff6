"""Secret routes: upload and list per scope, set and delete one. Never a value out."""
from __future__ import annotations

from typing import Optional

from ..errors import InvalidInput
from ..scopes import PACKAGE, PLATFORM, PROJECT
from .base import DXHandler, api


class ScopeMixin(DXHandler):
    def scope_of(self, project: Optional[str], package: Optional[str]) -> dict[str, Optional[str]]:
        scope = PACKAGE if package else PROJECT if project else PLATFORM
        return {"scope": scope, "project": project, "package": package}

    def secrets_file(self) -> bytes:
        if self.request.headers.get("Content-Type", "").startswith("multipart/form-data"):
            files = self.request.files.get("secrets") or self.request.files.get("file") or []
            if len(files) != 1:
                raise InvalidInput("send exactly one secrets.json file in the form field 'secrets'")
            return files[0].body
        return self.request.body


class SecretsHandler(ScopeMixin):
    """GET lists names and metadata; PUT uploads a secrets.json (`?mode=replace` to replace)."""

    @api
    async def get(self, project: Optional[str] = None, package: Optional[str] = None) -> None:
        where = self.scope_of(project, package)
        infos = await self.call(self.dx.backend.secrets.list, **where)
        self.reply({"scope": where["scope"], "secrets": [i.to_dict() for i in infos]})

    @api
    async def put(self, project: Optional[str] = None, package: Optional[str] = None) -> None:
        mode = self.get_query_argument("mode", "upsert")
        result = await self.call(
            self.dx.backend.secrets.upload, self.secrets_file(), mode=mode, **self.scope_of(project, package)
        )
        self.reply(result.to_dict())


class SecretHandler(ScopeMixin):
    @api
    async def put(self, *path: Optional[str]) -> None:
        project, package, name = _split(path)
        body = self.json_object()
        if set(body) != {"value"}:
            raise InvalidInput('the body must be {"value": <any JSON value>}')
        info = await self.call(
            self.dx.backend.secrets.set, name, body["value"], **self.scope_of(project, package)
        )
        self.reply(info.to_dict())

    @api
    async def delete(self, *path: Optional[str]) -> None:
        project, package, name = _split(path)
        await self.call(self.dx.backend.secrets.delete, name, **self.scope_of(project, package))
        self.no_content()


def _split(path: tuple[Optional[str], ...]) -> tuple[Optional[str], Optional[str], str]:
    """Route groups are (name,), (project, name) or (project, package, name)."""
    *owners, name = path
    project = owners[0] if owners else None
    package = owners[1] if len(owners) > 1 else None
    return project, package, name  # type: ignore[return-value]
