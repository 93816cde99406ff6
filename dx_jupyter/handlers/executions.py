from __future__ import annotations

from ..errors import InvalidInput
from .base import DXHandler, api


class PackageExecutionsHandler(DXHandler):
    @api
    async def post(self, project: str, package: str) -> None:
        body = self.json_object(required=False)
        unknown = set(body) - {"params"}
        if unknown:
            raise InvalidInput(f'unknown fields {sorted(unknown)}; send {{"params": {{...}}}}')
        execution = await self.dx.start_execution(project, package, body.get("params"))
        self.reply(execution, 201)

    @api
    async def get(self, project: str, package: str) -> None:
        page = await self.call(
            self.dx.executions.list,
            project,
            package,
            self.int_argument("offset", 0),
            self.int_argument("limit", 50),
        )
        self.reply(page)


class ExecutionHandler(DXHandler):
    @api
    async def get(self, execution_id: str) -> None:
        self.reply(await self.call(self.dx.executions.get, execution_id))


class StepsHandler(DXHandler):
    @api
    async def get(self, execution_id: str) -> None:
        self.reply({"steps": await self.call(self.dx.executions.steps, execution_id)})


class StepResultHandler(DXHandler):
    @api
    async def get(self, execution_id: str, number: str) -> None:
        self.reply(await self.call(self.dx.executions.result, execution_id, int(number)))


class CancelHandler(DXHandler):
    @api
    async def post(self, execution_id: str) -> None:
        self.reply(await self.dx.cancel_execution(execution_id), 202)
