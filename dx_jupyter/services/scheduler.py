"""Scheduled jobs: later executions of a package, once or on a cron.

A job comes from a script (`context.scheduler.schedule()` / `.retry()`, source "script") or from
the package's manifest `schedule` (source "manifest", one row per package, kept in step with the
manifest by `sync_package_schedule`). The server's scheduler loop calls `due(now)`: it claims the
jobs whose `next_run_at` has come, in one transaction, deleting one-shot jobs and moving cron
jobs to their next time, so that several servers sharing a PostgreSQL store never fire a job
twice (`SELECT ... FOR UPDATE SKIP LOCKED`; SQLite writers are serialized anyway).
Times are UTC; cron expressions are read in UTC.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

from croniter import croniter
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..errors import Conflict, InvalidInput, NotFound
from ..store import Store
from ..store.models import Package, ScheduledJob, utcnow
from .executions import check_params
from .owners import get_package, get_package_by_id
from .serialize import iso

SCHEDULED, RETRY = "scheduled", "retry"
TRIGGERS = (SCHEDULED, RETRY)
SCRIPT, MANIFEST = "script", "manifest"
MAX_CRON_LENGTH = 128
MAX_OFFSET = timedelta(days=3660)
MAX_JOBS_PER_PACKAGE = 1000
CLAIM_BATCH = 100


def check_cron(expression: Any, field: str = "cron_expression") -> str:
    """A standard 5-field cron expression (minute hour day month weekday) or an @alias such as
    @hourly, read in UTC."""
    if not isinstance(expression, str) or not expression.strip():
        raise InvalidInput(f"{field} must be a non-empty string such as '*/15 * * * *'")
    expression = " ".join(expression.split())
    if len(expression) > MAX_CRON_LENGTH:
        raise InvalidInput(f"{field} is longer than {MAX_CRON_LENGTH} characters")
    fields = expression.split(" ")
    if not (expression.startswith("@") or len(fields) == 5) or not croniter.is_valid(expression):
        raise InvalidInput(
            f"{field} {expression!r} is not a valid cron expression: use 5 fields "
            "(minute hour day-of-month month day-of-week, e.g. '*/15 * * * *') or @hourly/@daily/..."
        )
    return expression


def next_cron_time(expression: str, after: datetime) -> datetime:
    return croniter(expression, after).get_next(datetime)


def check_offset(minutes: Any = 0, hours: Any = 0, days: Any = 0) -> timedelta:
    """The offsets as one positive delay; each a non-negative number, not all zero."""
    values = {"minutes": minutes, "hours": hours, "days": days}
    for name, value in values.items():
        if value is None:
            values[name] = 0
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidInput(f"{name} must be a number, got {value!r}")
        if value < 0:
            raise InvalidInput(f"{name} must not be negative, got {value!r}")
    total = values["minutes"] * 60 + values["hours"] * 3600 + values["days"] * 86400
    if total <= 0:
        raise InvalidInput("give a delay (minutes, hours or days above 0) or a cron_expression")
    if total > MAX_OFFSET.total_seconds():
        raise InvalidInput(f"the delay is longer than the limit of {MAX_OFFSET.days} days")
    return timedelta(seconds=total)


def job_dict(job: ScheduledJob, package: Package) -> dict[str, Any]:
    return {
        "id": job.id,
        "project": package.project.name,
        "package": package.name,
        "package_id": package.id,
        "trigger": job.trigger,
        "source": job.source,
        "cron_expression": job.cron,
        "params": json.loads(job.params_json),
        "next_run_at": iso(job.next_run_at),
        "runs": job.runs,
        "last_run_at": iso(job.last_run_at),
        "created_by_execution": job.created_by,
        "created_at": iso(job.created_at),
    }


@dataclass(frozen=True)
class DueJob:
    """A claimed job: what the loop needs to start its execution."""

    job_id: str
    project: str
    package: str
    package_id: str
    trigger: str
    params: dict[str, Any]
    active: bool


def sync_package_schedule(session: Session, package: Package, now: Optional[datetime] = None) -> None:
    """Make the package's "manifest" job match its `schedule` (none, or one row on that cron)."""
    now = now or utcnow()
    job = session.scalar(
        select(ScheduledJob).where(ScheduledJob.package_id == package.id, ScheduledJob.source == MANIFEST)
    )
    if not package.schedule:
        if job is not None:
            session.delete(job)
        return
    if job is not None and job.cron == package.schedule:
        return
    if job is None:
        job = ScheduledJob(package_id=package.id, trigger=SCHEDULED, source=MANIFEST, params_json="{}")
        session.add(job)
    job.cron = package.schedule
    job.next_run_at = next_cron_time(package.schedule, now)


class SchedulerService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create(
        self,
        package_id: str,
        trigger: str = SCHEDULED,
        minutes: Any = 0,
        hours: Any = 0,
        days: Any = 0,
        cron_expression: Any = None,
        parameters: Any = None,
        created_by: Optional[str] = None,
        now: Optional[datetime] = None,
    ) -> dict[str, Any]:
        """A job of the package `package_id`; `cron_expression` wins over the offsets."""
        if trigger not in TRIGGERS:
            raise InvalidInput(f"trigger must be one of {list(TRIGGERS)}")
        now = now or utcnow()
        if cron_expression is not None:
            cron = check_cron(cron_expression)
            check_offset_types(minutes, hours, days)
            next_run = next_cron_time(cron, now)
        else:
            cron = None
            next_run = now + check_offset(minutes, hours, days)
        params = check_params(parameters)
        with self.store.write() as session:
            pkg = get_package_by_id(session, package_id)
            count = session.scalar(select(func.count()).where(ScheduledJob.package_id == pkg.id))
            if count >= MAX_JOBS_PER_PACKAGE:
                raise Conflict(
                    f"package {pkg.project.name}/{pkg.name} already has {count} scheduled jobs "
                    f"(the limit is {MAX_JOBS_PER_PACKAGE}); delete some first"
                )
            job = ScheduledJob(
                package_id=pkg.id, trigger=trigger, source=SCRIPT, cron=cron,
                params_json=json.dumps(params), next_run_at=next_run, created_by=created_by,
            )
            session.add(job)
            session.flush()
            return job_dict(job, pkg)

    def create_for(self, project: str, package: str, **kwargs: Any) -> dict[str, Any]:
        with self.store.read() as session:
            package_id = get_package(session, project, package).id
        return self.create(package_id, **kwargs)

    def list(self, project: str, package: str) -> list[dict[str, Any]]:
        with self.store.read() as session:
            pkg = get_package(session, project, package)
            jobs = session.scalars(
                select(ScheduledJob)
                .where(ScheduledJob.package_id == pkg.id)
                .order_by(ScheduledJob.next_run_at, ScheduledJob.id)
            )
            return [job_dict(j, pkg) for j in jobs]

    def delete(self, project: str, package: str, job_id: str) -> None:
        with self.store.write() as session:
            pkg = get_package(session, project, package)
            job = session.get(ScheduledJob, job_id) if isinstance(job_id, str) else None
            if job is None or job.package_id != pkg.id:
                raise NotFound(f"job {job_id!r} does not exist in package {project}/{package}")
            if job.source == MANIFEST:
                raise Conflict(
                    f"job {job_id} is the package's manifest schedule; change or remove it with "
                    'PATCH .../packages/{package} {"manifest": {"schedule": null}}'
                )
            session.delete(job)

    def next_due_at(self) -> Optional[datetime]:
        with self.store.read() as session:
            return session.scalar(select(func.min(ScheduledJob.next_run_at)))

    def due(self, now: Optional[datetime] = None, limit: int = CLAIM_BATCH) -> list[DueJob]:
        """Claim the jobs due at `now`: one-shot jobs are deleted, cron jobs moved to their next
        time after `now`. A job claimed here is never claimed again, by any server."""
        now = now or utcnow()
        first = self.next_due_at()  # a cheap read first: most ticks find nothing to do
        if first is None or first > now:
            return []
        with self.store.write() as session:
            stmt = (
                select(ScheduledJob)
                .where(ScheduledJob.next_run_at <= now)
                .order_by(ScheduledJob.next_run_at, ScheduledJob.id)
                .limit(limit)
            )
            if not self.store.is_sqlite:
                stmt = stmt.with_for_update(skip_locked=True)
            claimed: list[DueJob] = []
            for job in session.scalars(stmt).all():
                pkg = session.get(Package, job.package_id)
                claimed.append(DueJob(
                    job_id=job.id, project=pkg.project.name, package=pkg.name, package_id=pkg.id,
                    trigger=job.trigger, params=json.loads(job.params_json), active=pkg.active,
                ))
                if job.cron:
                    job.next_run_at = next_cron_time(job.cron, now)
                    job.runs += 1
                    job.last_run_at = now
                else:
                    session.execute(delete(ScheduledJob).where(ScheduledJob.id == job.id))
            return claimed


def check_offset_types(minutes: Any, hours: Any, days: Any) -> None:
    """With a cron expression the offsets are ignored, but they must still be sane."""
    for name, value in (("minutes", minutes), ("hours", hours), ("days", days)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidInput(f"{name} must be a number, got {value!r}")
        if value < 0:
            raise InvalidInput(f"{name} must not be negative, got {value!r}")
