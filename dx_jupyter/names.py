"""Validation of the names users give to projects, packages, scripts and secrets."""
from __future__ import annotations

import re

from .errors import InvalidInput

MAX_NAME_LENGTH = 128
_SECRET_NAME = re.compile(r"[A-Za-z_\-][A-Za-z0-9_.\-]*")
_OWNER_NAME = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]*")
_SCRIPT_NAME = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]*\.py")


def _check(kind: str, name: object, pattern: re.Pattern[str], rule: str) -> str:
    if not isinstance(name, str):
        raise InvalidInput(f"{kind} name must be a string, got {type(name).__name__}")
    if not name:
        raise InvalidInput(f"{kind} name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"{kind} name {name[:40]!r}... is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}"
        )
    if not pattern.fullmatch(name):
        raise InvalidInput(f"{kind} name {name!r} is not valid: {rule}")
    return name


def secret_name(name: object) -> str:
    return _check(
        "secret",
        name,
        _SECRET_NAME,
        "use letters, digits, '_', '-' and '.', and do not start with a digit or '.'",
    )


def owner_name(kind: str, name: object) -> str:
    """Project and package names: like secret names, but may start with a digit."""
    return _check(kind, name, _OWNER_NAME, "use letters, digits, '_', '-' and '.', and do not start with '.'")


def script_name(name: object) -> str:
    return _check(
        "script",
        name,
        _SCRIPT_NAME,
        "a script is a '.py' file named with letters, digits, '_', '-' and '.'",
    )
