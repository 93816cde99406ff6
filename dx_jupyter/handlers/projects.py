from __future__ import annotations

from ..errors import InvalidInput
from .base import DXHandler, api

PROJECT_FIELDS = {"name", "description"}


class ProjectsHandler(DXHandler):
    @api
    async def get(self) -> None:
        self.reply({"projects": await self.call(self.dx.backend.projects.list)})

    @api
    async def post(self) -> None:
        body = self.json_object()
        unknown = set(body) - PROJECT_FIELDS
        if unknown:
            raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}; send name and description")
        if "name" not in body:
            raise InvalidInput('a project needs a "name"')
        project = await self.call(
            self.dx.backend.projects.create, body.get("name"), body.get("description", "")
        )
        self.reply(project, 201)


class ProjectHandler(DXHandler):
    @api
    async def get(self, project: str) -> None:
        self.reply(await self.call(self.dx.backend.projects.get, project))

    @api
    async def delete(self, project: str) -> None:
        await self.call(self.dx.backend.projects.delete, project)
        self.no_content()
