"""The interface every context backend implements, and the rules they share."""
from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from typing import Any, Optional

from ..errors import FerrisError, NotAvailableError

PACKAGE = "package"
PROJECT = "project"
PLATFORM = "platform"
SCOPES = (PACKAGE, PROJECT, PLATFORM)
_SYNONYMS = {"service": PACKAGE}


def normalize_scope(scope: object) -> str:
    """"project", "platform", or the package's own scope ("package", or the older "service")."""
    if isinstance(scope, str):
        name = _SYNONYMS.get(scope.lower(), scope.lower())
        if name in SCOPES:
            return name
    raise FerrisError(
        f"unknown secret context {scope!r}: use 'project', 'platform', or 'package' (also 'service')"
    )


def check_secret_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise FerrisError(f"a secret name must be a non-empty string, got {name!r}")
    return name


_EVENT_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,255}")


def check_job(
    trigger: str, minutes: Any, hours: Any, days: Any, cron_expression: Any, parameters: Any
) -> dict[str, Any]:
    """The arguments of `context.scheduler.schedule()/.retry()`, checked as far as ferris_ef can
    (the server also parses the cron expression)."""
    for name, value in (("minutes", minutes), ("hours", hours), ("days", days)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise FerrisError(f"context.scheduler: {name} must be a number, got {value!r}")
        if value < 0:
            raise FerrisError(f"context.scheduler: {name} must not be negative, got {value!r}")
    if cron_expression is not None:
        fields = cron_expression.split() if isinstance(cron_expression, str) else []
        if not (len(fields) == 5 or (len(fields) == 1 and fields[0].startswith("@"))):
            raise FerrisError(
                f"context.scheduler: cron_expression {cron_expression!r} is not a cron expression: "
                "use 5 fields (minute hour day-of-month month day-of-week, e.g. '*/15 * * * *')"
            )
    elif minutes == 0 and hours == 0 and days == 0:
        raise FerrisError("context.scheduler: give a delay (minutes, hours or days above 0) or a cron_expression")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise FerrisError("context.scheduler: parameters must be a dict (they become the run's params)")
    return {"trigger": trigger, "minutes": minutes, "hours": hours, "days": days,
            "cron_expression": cron_expression, "parameters": parameters}


def check_event(
    event_type: Any, event_source: Any, data: Any, topic: Any, reference_id: Any
) -> dict[str, Any]:
    """The arguments of `context.events.send()`, checked."""
    if not isinstance(event_type, str) or not _EVENT_TYPE.fullmatch(event_type):
        raise FerrisError(
            f"context.events.send: event_type {event_type!r} is not a valid event type: 1-256 "
            "characters from letters, digits, '.', '_', '-', ':', '/', starting with a letter or digit"
        )
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FerrisError("context.events.send: data must be a dict (it becomes the triggered runs' params)")
    for name, value in (("event_source", event_source), ("topic", topic), ("reference_id", reference_id)):
        if value is not None and (not isinstance(value, str) or not value):
            raise FerrisError(f"context.events.send: {name} must be a non-empty string or None")
    return {"event_type": event_type, "event_source": event_source, "data": data,
            "topic": topic, "reference_id": reference_id}


class PackageInfo:
    """`context.package`: the package being run."""

    __slots__ = ("name", "id")

    def __init__(self, name: str, id: str) -> None:
        self.name = name
        self.id = id

    def __repr__(self) -> str:
        return f"PackageInfo(name={self.name!r}, id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PackageInfo) and (self.name, self.id) == (other.name, other.id)

    def __hash__(self) -> int:
        return hash((self.name, self.id))


class ContextBackend(ABC):
    """One way of answering `context.*`. Errors are `FerrisError`s."""

    #: short name shown in messages and in repr(context): "runtime", "local", "store"
    mode = ""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The execution parameters; always holds package_name and package_id."""

    @abstractmethod
    def package(self) -> PackageInfo:
        """The package being run."""

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """The package configuration (its config.json)."""

    @abstractmethod
    def get_secret(self, name: str) -> Any:
        """package, then project, then platform scope; None when no scope has it."""

    @abstractmethod
    def set_secret(self, name: str, value: Any, scope: str) -> dict[str, Any]:
        """Create or update a secret in a normalized scope; returns its metadata, never the value."""

    @abstractmethod
    def get_state(self) -> dict[str, Any]:
        """The package's state dict."""

    @abstractmethod
    def put_state(self, key: str, value: Any) -> Optional[dict[str, Any]]:
        """Set one key of the package's state; returns the new state when the backend knows it."""

    def schedule_job(self, job: dict[str, Any]) -> str:
        """Record a later run of this package (a checked `check_job` dict); returns the job id."""
        raise NotAvailableError(
            f"context.scheduler is not available in {self.mode} mode: schedule later runs from a "
            "package script (a step of an execution), where context.scheduler works; nothing was scheduled"
        )

    def send_event(self, event: dict[str, Any]) -> str:
        """Send an event (a checked `check_event` dict); returns the event id."""
        raise NotAvailableError(
            f"context.events is not available in {self.mode} mode: send events from a package "
            "script (a step of an execution), where context.events works; nothing was sent"
        )

    def describe(self) -> str:
        try:
            pkg = self.package()
            return f"{self.mode}: package {pkg.name!r}"
        except FerrisError:
            return self.mode
