"""Executions and steps: creating runs, recording their progress, reading their results."""
from __future__ import annotations

import hashlib
import json
import secrets as pysecrets
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import func, select, update

from ..errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from ..keyring import open_sealed, seal
from ..redaction import DEFAULT_MIN_LENGTH, Redactor
from ..run_events import RunScript, build_run_event
from ..runner import CANCELLED, COMPLETED, FAILED, StepResult
from ..store import Store
from ..store.models import Execution, Package, Step, utcnow
from .owners import get_package, package_owner
from .secrets import SecretsService
from .serialize import iso

PENDING, IN_PROGRESS, UNPROCESSED = "pending", "in_progress", "unprocessed"
ACTIVE = (PENDING, IN_PROGRESS)
FINAL = (COMPLETED, FAILED, CANCELLED)
MAX_PARAMS_BYTES = 64 * 1024
RECOVERY_MESSAGE = "the server stopped before this execution finished; marked failed at restart"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _result_aad(execution_id: str, number: int) -> bytes:
    return f"dx-result-v1\x00{execution_id}\x00{number}".encode()


def step_dict(step: Step) -> dict[str, Any]:
    return {
        "number": step.number,
        "script": step.script,
        "status": step.status,
        "exit_code": step.exit_code,
        "started_at": iso(step.started_at),
        "finished_at": iso(step.finished_at),
        "duration": step.duration,
    }


def _duration(start: Optional[datetime], end: Optional[datetime]) -> Optional[float]:
    return None if start is None or end is None else (end - start).total_seconds()


def execution_dict(execution: Execution, package: Package) -> dict[str, Any]:
    return {
        "id": execution.id,
        "project": package.project.name,
        "package": package.name,
        "package_id": package.id,
        "trigger": execution.trigger,
        "status": execution.status,
        "status_message": execution.status_message,
        "params": json.loads(execution.params_json),
        "created_at": iso(execution.created_at),
        "started_at": iso(execution.started_at),
        "finished_at": iso(execution.finished_at),
        "duration": _duration(execution.started_at, execution.finished_at),
        "steps": [step_dict(s) for s in execution.steps],
    }


def check_params(params: Any) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise InvalidInput("params must be a JSON object of name: value")
    try:
        size = len(json.dumps(params, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"params must be JSON values: {err}") from None
    if size > MAX_PARAMS_BYTES:
        raise TooLarge(f"params are {size} bytes as JSON; the limit is {MAX_PARAMS_BYTES}")
    return params


class ExecutionsService:
    """Owns execution rows. Also the `RunReporter` of executors that share this store."""

    def __init__(
        self,
        store: Store,
        secrets: SecretsService,
        executor_key: bytes,
        redact_min_length: int = DEFAULT_MIN_LENGTH,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.executor_key = executor_key
        self.redact_min_length = redact_min_length

    # ----- creating runs -----
    def create(
        self,
        project: str,
        package: str,
        params: Any = None,
        trigger: str = "manual",
        api_url: Optional[str] = None,
        event_depth: int = 0,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Record a pending execution; return it and the run event for the executor."""
        params = check_params(params)
        token = pysecrets.token_urlsafe(32)
        with self.store.write() as session:
            pkg = get_package(session, project, package)
            if trigger == "manual" and pkg.allow_manual_triggering is False:
                raise Conflict(
                    f"package {project}/{package} does not allow manual runs (its manifest says "
                    "allow_manual_triggering: false); it runs on its schedule or on events"
                )
            if not pkg.scripts:
                raise Conflict(f"package {project}/{package} has no scripts to run")
            run_params = {**params, "package_name": pkg.name, "package_id": pkg.id}
            execution = Execution(
                package_id=pkg.id,
                trigger=trigger,
                params_json=json.dumps(run_params),
                token_hash=hash_token(token),
                event_depth=event_depth,
                steps=[Step(number=s.position, script=s.name) for s in pkg.scripts],
            )
            session.add(execution)
            session.flush()
            scripts = [RunScript(s.position, s.name, s.content) for s in pkg.scripts]
            info = execution_dict(execution, pkg)
            meta = {
                "package": {"id": pkg.id, "name": pkg.name},
                "project": {"id": pkg.project.id, "name": pkg.project.name},
                "config": json.loads(pkg.config_json),
            }
        event = build_run_event(
            execution_id=info["id"],
            params=run_params,
            scripts=scripts,
            secrets=self.secrets.resolve_scoped(info["package_id"]),
            token=token,
            api_url=api_url,
            executor_key=self.executor_key,
            trigger=trigger,
            **meta,
        )
        return info, event

    # ----- RunReporter -----
    def run_started(self, execution_id: str) -> bool:
        """pending -> in_progress; False if it was not pending (a second start never runs it)."""
        with self.store.write() as session:
            done = session.execute(
                update(Execution)
                .where(Execution.id == execution_id, Execution.status == PENDING)
                .values(status=IN_PROGRESS, started_at=utcnow())
            )
            return done.rowcount == 1

    def step_started(self, execution_id: str, number: int) -> None:
        with self.store.write() as session:
            session.execute(
                update(Step)
                .where(Step.execution_id == execution_id, Step.number == number)
                .values(status=IN_PROGRESS, started_at=utcnow())
            )

    def _redact_late_values(self, execution_id: str, result: StepResult) -> str:
        """Mask values the run itself wrote (`context.secrets.set`), which its runner never knew."""
        if not result.redacted:
            return result.output
        with self.store.read() as session:
            execution = session.get(Execution, execution_id)
            if execution is None:
                return result.output
            package_id, since = execution.package_id, execution.created_at
        late = self.secrets.values_changed_since(package_id, since)
        return Redactor(late, self.redact_min_length).redact(result.output) if late else result.output

    def step_finished(self, execution_id: str, result: StepResult) -> None:
        output = self._redact_late_values(execution_id, result)
        with self.store.write() as session:
            execution = session.get(Execution, execution_id)
            if execution is None:
                return
            pkg = session.get(Package, execution.package_id)
            key = self.secrets.owner_key(session, package_owner(pkg, pkg.project.name))
            session.execute(
                update(Step)
                .where(Step.execution_id == execution_id, Step.number == result.number)
                .values(
                    status=result.status,
                    exit_code=result.exit_code,
                    started_at=result.started_at,
                    finished_at=result.finished_at,
                    duration=result.duration,
                    output=seal(key, output.encode(), _result_aad(execution_id, result.number)),
                    output_truncated=result.truncated,
                    output_redacted=result.redacted,
                )
            )

    def run_finished(self, execution_id: str, status: str, message: str) -> None:
        self._finish(execution_id, status, message, ACTIVE)

    def cancel_pending(self, execution_id: str, message: str = "cancelled before it started") -> bool:
        """Cancel an execution only if no executor has started it yet; True if it was pending."""
        return self._finish(execution_id, CANCELLED, message, (PENDING,))

    def _finish(self, execution_id: str, status: str, message: str, only_from: tuple[str, ...]) -> bool:
        with self.store.write() as session:
            # The row lock orders this against a concurrent run_started (PostgreSQL; SQLite
            # writers are serialized anyway), so "pending" is still true when it is acted on.
            execution = session.get(Execution, execution_id, with_for_update=True)
            if execution is None or execution.status not in only_from:
                return False
            now = utcnow()
            execution.status = status
            execution.status_message = message
            execution.finished_at = now
            execution.token_hash = None
            for step in execution.steps:
                if step.status in ACTIVE:
                    step.status = UNPROCESSED if step.status == PENDING else FAILED
                    step.finished_at = step.finished_at or (now if step.started_at else None)
            return True

    # ----- reading -----
    def list(self, project: str, package: str, offset: int = 0, limit: int = 50) -> dict[str, Any]:
        if offset < 0 or not 1 <= limit <= 500:
            raise InvalidInput("offset must be >= 0 and limit between 1 and 500")
        with self.store.read() as session:
            pkg = get_package(session, project, package)
            total = session.scalar(select(func.count()).where(Execution.package_id == pkg.id))
            rows = session.scalars(
                select(Execution)
                .where(Execution.package_id == pkg.id)
                .order_by(Execution.created_at.desc(), Execution.id)
                .offset(offset)
                .limit(limit)
            )
            return {
                "executions": [execution_dict(e, pkg) for e in rows],
                "total": total,
                "offset": offset,
                "limit": limit,
            }

    def _get(self, session: Any, execution_id: str) -> Execution:
        execution = session.get(Execution, execution_id) if isinstance(execution_id, str) else None
        if execution is None:
            raise NotFound(f"execution {execution_id!r} does not exist")
        return execution

    def get(self, execution_id: str) -> dict[str, Any]:
        with self.store.read() as session:
            execution = self._get(session, execution_id)
            return execution_dict(execution, session.get(Package, execution.package_id))

    def steps(self, execution_id: str) -> list[dict[str, Any]]:
        with self.store.read() as session:
            return [step_dict(s) for s in self._get(session, execution_id).steps]

    def result(self, execution_id: str, number: int) -> dict[str, Any]:
        with self.store.read() as session:
            execution = self._get(session, execution_id)
            step = next((s for s in execution.steps if s.number == number), None)
            if step is None:
                raise NotFound(f"execution {execution_id} has no step {number}")
            output = ""
            if step.output is not None:
                pkg = session.get(Package, execution.package_id)
                key = self.secrets.read_owner_key(session, package_owner(pkg, pkg.project.name))
                output = open_sealed(
                    key, step.output, _result_aad(execution_id, number), f"result of step {number}"
                ).decode()
            return {
                **{k: v for k, v in step_dict(step).items() if k in ("number", "script", "status", "exit_code")},
                "output": output,
                "truncated": step.output_truncated,
                "redacted": step.output_redacted,
            }

    # ----- control -----
    def mark_cancelled(self, execution_id: str) -> dict[str, Any]:
        """Refuse to cancel a finished execution; return it as it stands."""
        info = self.get(execution_id)
        if info["status"] in FINAL:
            raise Conflict(f"execution {execution_id} is already {info['status']}")
        return info

    def package_for_token(self, token: str) -> str:
        """The package id of the running execution that holds this token."""
        if not isinstance(token, str) or not token:
            raise Forbidden("missing execution token")
        with self.store.read() as session:
            package_id = session.scalar(
                select(Execution.package_id).where(
                    Execution.token_hash == hash_token(token), Execution.status.in_(ACTIVE)
                )
            )
        if package_id is None:
            raise Forbidden("the execution token is unknown or its execution has ended")
        return package_id

    def report_target(self, token: str, execution_id: str) -> tuple[str, list[int]]:
        """For a worker's progress report: the execution's status and step numbers, if `token`
        is this execution's own live token. Forbidden for a missing, unknown or ended token, or
        one of another execution."""
        if not isinstance(token, str) or not token:
            raise Forbidden("missing execution token")
        with self.store.read() as session:
            row = session.execute(
                select(Execution.id, Execution.status).where(
                    Execution.token_hash == hash_token(token), Execution.status.in_(ACTIVE)
                )
            ).first()
            if row is None:
                raise Forbidden("the execution token is unknown or its execution has ended")
            if row.id != execution_id:
                raise Forbidden("the execution token belongs to another execution")
            numbers = session.scalars(
                select(Step.number).where(Step.execution_id == execution_id).order_by(Step.number)
            ).all()
        return row.status, list(numbers)

    def recover(self) -> int:
        """Fail executions a crash or a restart left pending or in progress."""
        with self.store.write() as session:
            ids = session.scalars(select(Execution.id).where(Execution.status.in_(ACTIVE))).all()
        for eid in ids:
            self.run_finished(eid, FAILED, RECOVERY_MESSAGE)
        return len(ids)
