"""Scheduled jobs and events: the runtime routes behind `context.scheduler` / `context.events`
(an execution token, its own package only) and the REST routes to see and manage them."""
from __future__ import annotations

import hmac
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated

from ..errors import Forbidden, InvalidInput
from ..services.events import Caller, running_execution
from ..services.scheduler import RETRY, SCHEDULED
from .base import DXHandler, api, translate_errors
from .runtime import TOKEN_HEADER, RuntimeHandler

JOB_FIELDS = {"minutes", "hours", "days", "cron_expression", "parameters", "trigger"}
EVENT_FIELDS = {"event_type", "event_source", "data", "topic", "reference_id"}


class TriggersMixin(DXHandler):
    @property
    def triggers(self) -> Any:
        return self.settings["dx_triggers"]

    def fields(self, allowed: set[str], example: str) -> dict[str, Any]:
        body = self.json_object()
        unknown = set(body) - allowed
        if unknown:
            raise InvalidInput(f"unknown fields {sorted(unknown)}; send {example}")
        return body


class RuntimeTriggersHandler(RuntimeHandler, TriggersMixin):
    async def caller(self) -> Caller:
        """The running execution of the X-DX-Token: jobs and events belong to its package."""
        token = self.request.headers.get(TOKEN_HEADER, "")
        if not token:
            raise Forbidden(f"the {TOKEN_HEADER} header is missing")
        if self.get_query_argument("project", None) or self.get_query_argument("package", None):
            raise Forbidden("an execution token reaches only its own package; drop project/package")
        kernel = self.dx.kernel_token or ""
        if kernel and hmac.compare_digest(token.encode(), kernel.encode()):
            raise Forbidden(
                "the scheduler and events are used from a package script (an execution step), "
                "not from a notebook kernel"
            )
        return await self.call(running_execution, self.dx.backend.store, token)


class RuntimeJobsHandler(RuntimeTriggersHandler):
    @allow_unauthenticated
    @translate_errors
    async def post(self) -> None:
        caller = await self.caller()
        body = self.fields(JOB_FIELDS, '{"minutes"?, "hours"?, "days"?, "cron_expression"?, '
                                       '"parameters"?, "trigger"?: "scheduled"|"retry"}')
        trigger = body.pop("trigger", SCHEDULED)
        if trigger not in (SCHEDULED, RETRY):
            raise InvalidInput('trigger must be "scheduled" or "retry"')
        job = await self.call(
            self.triggers.jobs.create, caller.package_id, trigger, created_by=caller.execution_id,
            minutes=body.get("minutes", 0), hours=body.get("hours", 0), days=body.get("days", 0),
            cron_expression=body.get("cron_expression"), parameters=body.get("parameters"),
        )
        self.reply(job, 201)


class RuntimeEventsHandler(RuntimeTriggersHandler):
    @allow_unauthenticated
    @translate_errors
    async def post(self) -> None:
        caller = await self.caller()
        body = self.fields(EVENT_FIELDS, '{"event_type", "event_source"?, "data"?, "topic"?, "reference_id"?}')
        if "event_type" not in body:
            raise InvalidInput("an event needs an event_type")
        self.reply(await self.triggers.send_event(body, caller), 201)


class PackageJobsHandler(TriggersMixin):
    @api
    async def get(self, project: str, package: str) -> None:
        self.reply({"jobs": await self.call(self.triggers.jobs.list, project, package)})


class PackageJobHandler(TriggersMixin):
    @api
    async def delete(self, project: str, package: str, job_id: str) -> None:
        await self.call(self.triggers.jobs.delete, project, package, job_id)
        self.no_content()


class EventsHandler(TriggersMixin):
    @api
    async def get(self) -> None:
        limit = self.int_argument("limit", 50)
        event_type = self.get_query_argument("type", None)
        self.reply({"events": await self.call(self.triggers.events.list, limit, event_type)})

    @api
    async def post(self) -> None:
        body = self.fields(EVENT_FIELDS, '{"event_type", "event_source"?, "data"?, "topic"?, "reference_id"?}')
        if "event_type" not in body:
            raise InvalidInput("an event needs an event_type")
        self.reply(await self.triggers.send_event(body), 201)
