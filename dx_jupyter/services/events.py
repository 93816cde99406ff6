"""Events: recorded in CloudEvents shape; each one triggers the active packages whose manifest
lists its type in `trigger_events`.

`record()` stores an event not yet dispatched; `claim(event_id)` or `claim_pending()` mark it
dispatched (an atomic UPDATE, so one server dispatches it once) and name the packages it
triggers; `set_triggered()` remembers the executions it started. The server starts those
executions (dx_jupyter/scheduling.py); an event recorded without a server (a store binding)
is dispatched by the server's scheduler loop.

Loops: an event sent by an execution carries `depth` = that execution's `event_depth` + 1
(an execution started by a manual run, a job or a hand-sent event has depth 0); the
executions an event triggers get its depth; an event deeper than `max_depth` is refused.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import select, update

from ..errors import Conflict, Forbidden, InvalidInput
from ..store import Store
from ..store.models import Event, Execution, Package, utcnow
from .executions import ACTIVE, check_params, hash_token
from .serialize import iso

SPEC_VERSION = "1.0"
DEFAULT_MAX_DEPTH = 5
MAX_TYPE_LENGTH = 256
MAX_SOURCE_LENGTH = 512
MAX_REF_LENGTH = 256
EVENT_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/\-]*")
TYPE_RULE = (
    "1-256 characters from letters, digits, '.', '_', '-', ':', '/', starting with a letter or "
    "digit, e.g. 'com.example.order.created'"
)


class EventTooDeep(Conflict):
    """An event chain went past the configured depth (a loop guard): 409."""


def check_event_type(value: Any, field: str = "event_type") -> str:
    if not isinstance(value, str) or len(value) > MAX_TYPE_LENGTH or not EVENT_TYPE.fullmatch(value):
        raise InvalidInput(f"{field} {value!r} is not a valid event type: {TYPE_RULE}")
    return value


def _optional_text(value: Any, field: str, limit: int) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > limit or any(ord(c) < 32 for c in value):
        raise InvalidInput(f"{field} must be a string of 1-{limit} printable characters")
    return value


def event_dict(event: Event) -> dict[str, Any]:
    """The CloudEvent (specversion, type, source, id, time, data) plus DX's own fields."""
    return {
        "specversion": SPEC_VERSION,
        "type": event.type,
        "source": event.source,
        "id": event.id,
        "time": iso(event.time),
        "datacontenttype": "application/json",
        "data": json.loads(event.data_json),
        "topic": event.topic,
        "reference_id": event.reference_id,
        "depth": event.depth,
        "sender_package_id": event.sender_package_id,
        "sender_execution_id": event.sender_execution_id,
        "dispatched": event.dispatched_at is not None,
        "triggered": json.loads(event.triggered_json),
    }


@dataclass(frozen=True)
class Caller:
    """A running execution, named by its token: what an event or a job it sends is tied to."""

    execution_id: str
    package_id: str
    project: str
    package: str
    event_depth: int


@dataclass(frozen=True)
class Target:
    """A package an event triggers."""

    project: str
    package: str
    package_id: str


def running_execution(store: Store, token: str) -> Caller:
    """The pending or running execution that holds `token` (Forbidden otherwise)."""
    if not isinstance(token, str) or not token:
        raise Forbidden("missing execution token")
    with store.read() as session:
        execution = session.scalar(
            select(Execution).where(Execution.token_hash == hash_token(token), Execution.status.in_(ACTIVE))
        )
        if execution is None:
            raise Forbidden("the execution token is unknown or its execution has ended")
        pkg = session.get(Package, execution.package_id)
        return Caller(execution.id, pkg.id, pkg.project.name, pkg.name, execution.event_depth)


class EventsService:
    def __init__(self, store: Store, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.store = store
        self.max_depth = max_depth

    def record(
        self,
        event_type: Any,
        event_source: Any = None,
        data: Any = None,
        topic: Any = None,
        reference_id: Any = None,
        caller: Optional[Caller] = None,
        default_source: str = "/dx/api/events",
        claimed: bool = False,
    ) -> dict[str, Any]:
        """Check and store an event; refuse one deeper than `max_depth`. `claimed`: the caller
        dispatches it now (else the scheduler loop will)."""
        event_type = check_event_type(event_type)
        source = _optional_text(event_source, "event_source", MAX_SOURCE_LENGTH) or (
            f"/dx/api/projects/{caller.project}/packages/{caller.package}" if caller else default_source
        )
        if data is not None and not isinstance(data, dict):
            raise InvalidInput("data must be a JSON object: it becomes the triggered executions' params")
        data = check_params(data)
        topic = _optional_text(topic, "topic", MAX_REF_LENGTH)
        reference_id = _optional_text(reference_id, "reference_id", MAX_REF_LENGTH)
        depth = (caller.event_depth if caller else 0) + 1
        if depth > self.max_depth:
            raise EventTooDeep(
                f"event {event_type!r} refused: it would be event {depth} of a chain of events "
                f"triggering executions (the limit is {self.max_depth}, "
                "c.DXJupyter.max_event_depth); a package that sends the event type it is "
                "triggered by loops forever"
            )
        with self.store.write() as session:
            event = Event(
                type=event_type, source=source, time=utcnow(), data_json=json.dumps(data),
                topic=topic, reference_id=reference_id, depth=depth,
                sender_package_id=caller.package_id if caller else None,
                sender_execution_id=(caller.execution_id or None) if caller else None,
                triggered_json="[]",
            )
            event.dispatched_at = event.time if claimed else None
            session.add(event)
            session.flush()
            return event_dict(event)

    def list(self, limit: int = 50, event_type: Optional[str] = None) -> list[dict[str, Any]]:
        if not 1 <= limit <= 500:
            raise InvalidInput("limit must be between 1 and 500")
        with self.store.read() as session:
            stmt = select(Event).order_by(Event.time.desc(), Event.id).limit(limit)
            if event_type is not None:
                stmt = stmt.where(Event.type == check_event_type(event_type, "type"))
            return [event_dict(e) for e in session.scalars(stmt)]

    def targets(self, event_type: str) -> list[Target]:
        """The active packages whose manifest lists `event_type`, by project and package name."""
        with self.store.read() as session:
            rows = session.scalars(
                select(Package).where(Package.active.is_(True), Package.trigger_events_json != "[]")
            )
            found = [
                Target(p.project.name, p.name, p.id)
                for p in rows
                if event_type in json.loads(p.trigger_events_json)
            ]
        return sorted(found, key=lambda t: (t.project, t.package))

    def claim(self, event_id: str) -> Optional[dict[str, Any]]:
        """Mark one event dispatched; the event, or None if someone dispatched it already."""
        with self.store.write() as session:
            done = session.execute(
                update(Event).where(Event.id == event_id, Event.dispatched_at.is_(None))
                .values(dispatched_at=utcnow())
            )
            if done.rowcount != 1:
                return None
            return event_dict(session.get(Event, event_id))

    def pending(self, limit: int = 100) -> list[str]:
        """Ids of events recorded but not dispatched yet, oldest first."""
        with self.store.read() as session:
            return list(session.scalars(
                select(Event.id).where(Event.dispatched_at.is_(None)).order_by(Event.time).limit(limit)
            ))

    def set_triggered(self, event_id: str, triggered: list[dict[str, Any]]) -> dict[str, Any]:
        with self.store.write() as session:
            event = session.get(Event, event_id)
            event.triggered_json = json.dumps(triggered)
            return event_dict(event)

    def get(self, event_id: str) -> Optional[dict[str, Any]]:
        with self.store.read() as session:
            event = session.get(Event, event_id)
            return None if event is None else event_dict(event)

