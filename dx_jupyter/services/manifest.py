"""A package's manifest.json: when it runs by itself, and whether people may start it by hand.

    {"schedule": "0 6 * * *", "trigger_events": ["orders.created"], "active": true,
     "allow_manual_triggering": true, "description": "..."}

- `schedule`: cron (5 fields, UTC) on which the package runs while `active`; null for none.
- `trigger_events`: event types that start it (while `active`) with the event's data as params.
- `active` (default true): false stops its schedule, its jobs and its events (not manual runs).
- `allow_manual_triggering` (default true): false refuses manual runs (409).
- `description`: the package description, when the upload does not give one.
- `priority` is accepted and not used; `entrypoint`/`execution_order` are refused (the order of
  the scripts is the package's own order, `script_order`).
"""
from __future__ import annotations

import json
from typing import Any, Optional

from sqlalchemy.orm import Session

from ..errors import InvalidContent
from ..store.models import Package
from .events import check_event_type
from .scheduler import check_cron, sync_package_schedule

MANIFEST_FILE = "manifest.json"
FIELDS = ("schedule", "trigger_events", "active", "allow_manual_triggering")
ACCEPTED = set(FIELDS) | {"description", "priority"}
MAX_TRIGGER_EVENTS = 100


def parse_manifest(raw: Any) -> dict[str, Any]:
    """The manifest's fields that are present, checked. `raw`: an uploaded file or a JSON value."""
    from .packages import Upload, _text

    if isinstance(raw, Upload):
        try:
            raw = json.loads(_text(raw))
        except json.JSONDecodeError as err:
            raise InvalidContent(f"manifest.json is not valid JSON: {err.msg} at line {err.lineno}") from None
    if not isinstance(raw, dict):
        raise InvalidContent("manifest.json must hold a JSON object")
    refused = sorted({"entrypoint", "execution_order"} & set(raw))
    if refused:
        raise InvalidContent(
            f"manifest.json: {', '.join(refused)} is not supported; the scripts run in the "
            "package's order (PATCH script_order to change it)"
        )
    unknown = sorted(set(raw) - ACCEPTED)
    if unknown:
        raise InvalidContent(
            f"manifest.json: unknown fields {unknown}; known: {sorted(ACCEPTED)}"
        )
    out: dict[str, Any] = {}
    if "schedule" in raw:
        schedule = raw["schedule"]
        out["schedule"] = None if schedule in (None, "") else _content(check_cron, schedule, "schedule")
    if "trigger_events" in raw:
        events = raw["trigger_events"]
        if events is None:
            events = []
        if not isinstance(events, list) or len(events) > MAX_TRIGGER_EVENTS:
            raise InvalidContent(f"manifest.json: trigger_events must be a list of at most "
                                 f"{MAX_TRIGGER_EVENTS} event types")
        checked = [_content(check_event_type, e, "trigger_events item") for e in events]
        out["trigger_events"] = list(dict.fromkeys(checked))
    for flag in ("active", "allow_manual_triggering"):
        if flag in raw:
            if not isinstance(raw[flag], bool):
                raise InvalidContent(f"manifest.json: {flag} must be true or false")
            out[flag] = raw[flag]
    if "description" in raw:
        if not isinstance(raw["description"], str):
            raise InvalidContent("manifest.json: description must be a string")
        out["description"] = raw["description"]
    return out


def _content(check: Any, value: Any, field: str) -> Any:
    from ..errors import InvalidInput

    try:
        return check(value, field)
    except InvalidInput as err:
        raise InvalidContent(f"manifest.json: {err.message}") from None


def apply_manifest(session: Session, package: Package, fields: Optional[dict[str, Any]]) -> None:
    """Set the given manifest fields (the others stay) and keep the schedule job in step."""
    if fields:
        if "schedule" in fields:
            package.schedule = fields["schedule"]
        if "trigger_events" in fields:
            package.trigger_events_json = json.dumps(fields["trigger_events"])
        if "active" in fields:
            package.active = fields["active"]
        if "allow_manual_triggering" in fields:
            package.allow_manual_triggering = fields["allow_manual_triggering"]
    session.flush()
    sync_package_schedule(session, package)


def manifest_dict(package: Package) -> dict[str, Any]:
    return {
        "schedule": package.schedule,
        "trigger_events": json.loads(package.trigger_events_json or "[]"),
        "active": package.active is not False,
        "allow_manual_triggering": package.allow_manual_triggering is not False,
    }
