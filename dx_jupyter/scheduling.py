"""The server's side of `context.scheduler` and `context.events`: starting the executions that
jobs and events call for, and the loop that fires due jobs.

`Triggers` is owned by the extension (app.py) and shared by the handlers
(`settings["dx_triggers"]`). Its loop is a tornado `PeriodicCallback` every
`c.DXJupyter.scheduler_interval` seconds; each tick claims due jobs (services/scheduler.py) and
events recorded without a server (services/events.py), and starts their executions through
`DXCore.start_execution`. All store work runs off the event loop (`DXCore.run_blocking`).

A package that is not `active` is not started by its jobs, its schedule or events; a one-shot
job that comes due while it is inactive is dropped (logged), a cron job moves on.
"""
from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Optional

from tornado.ioloop import PeriodicCallback

from .core import DXCore
from .errors import DXError
from .services.events import Caller, EventsService
from .services.scheduler import DueJob, SchedulerService

log = logging.getLogger("dx_jupyter")


class Triggers:
    def __init__(
        self, core: DXCore, jobs: SchedulerService, events: EventsService, interval: float = 10.0,
    ) -> None:
        self.core = core
        self.jobs = jobs
        self.events = events
        self.interval = interval
        self._callback: Optional[PeriodicCallback] = None
        self._tick_task: Optional[asyncio.Future[Any]] = None
        self._stopping = False

    async def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await self.core.run_blocking(functools.partial(fn, *args, **kwargs))

    # ----- events -----
    async def send_event(self, fields: dict[str, Any], caller: Optional[Caller] = None) -> dict[str, Any]:
        """Record an event (refusing a too-deep chain) and start the executions it triggers."""
        event = await self.call(self.events.record, caller=caller, claimed=True, **fields)
        return await self._dispatch(event)

    async def _dispatch(self, event: dict[str, Any]) -> dict[str, Any]:
        targets = await self.call(self.events.targets, event["type"])
        triggered = []
        for target in targets:
            entry: dict[str, Any] = {"project": target.project, "package": target.package}
            try:
                execution = await self.core.start_execution(
                    target.project, target.package, event["data"], "event", event_depth=event["depth"],
                )
                entry["execution_id"] = execution["id"]
            except DXError as err:
                log.warning("event %s (%s): %s/%s not started: %s", event["id"], event["type"],
                            target.project, target.package, err.message)
                entry["error"] = err.message
            triggered.append(entry)
        if not triggered:
            return event
        return await self.call(self.events.set_triggered, event["id"], triggered)

    # ----- jobs -----
    async def _fire(self, job: DueJob) -> None:
        if not job.active:
            log.info("job %s of %s/%s skipped: the package is not active", job.job_id, job.project, job.package)
            return
        try:
            execution = await self.core.start_execution(job.project, job.package, job.params, job.trigger)
            log.info("job %s started execution %s of %s/%s (%s)", job.job_id, execution["id"],
                     job.project, job.package, job.trigger)
        except DXError as err:
            log.warning("job %s of %s/%s did not start: %s", job.job_id, job.project, job.package, err.message)

    # ----- the loop -----
    async def tick(self) -> None:
        """One round: fire every due job, dispatch every event no server dispatched yet."""
        for job in await self.call(self.jobs.due):
            await self._fire(job)
        for event_id in await self.call(self.events.pending):
            event = await self.call(self.events.claim, event_id)
            if event is not None:
                await self._dispatch(event)

    async def _run_tick(self) -> None:
        if self._stopping:
            return
        self._tick_task = asyncio.ensure_future(self.tick())
        try:
            await self._tick_task
        except Exception:  # one bad round must not stop the loop
            if not self._stopping:
                log.exception("dx_jupyter scheduler: a round failed")

    def start(self) -> None:
        self._callback = PeriodicCallback(self._run_tick, self.interval * 1000)
        self._callback.start()

    async def stop(self) -> None:
        self._stopping = True
        if self._callback is not None:
            self._callback.stop()
        task = self._tick_task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=30)
            except Exception:
                pass
