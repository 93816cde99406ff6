from __future__ import annotations

from .base import DXHandler, api


class ProjectsHandler(DXHandler):
    @api
    async def get(self) -> None:
        self.reply({"projects": await self.call(self.dx.backend.projects.list)})

    @api
    async def post(self) -> None:
        body = self.json_object()
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
