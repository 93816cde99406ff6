"""The three secret scopes and the order in which they are searched."""
from __future__ import annotations

from .errors import InvalidInput

PACKAGE = "package"
PROJECT = "project"
PLATFORM = "platform"
SCOPES = (PACKAGE, PROJECT, PLATFORM)
_SYNONYMS = {"service": PACKAGE}


def normalize_scope(scope: object) -> str:
    """Accept the platform's older word "service" for the package scope."""
    if not isinstance(scope, str):
        raise InvalidInput(f"scope must be a string, one of {', '.join(SCOPES)}")
    name = _SYNONYMS.get(scope.lower(), scope.lower())
    if name not in SCOPES:
        raise InvalidInput(f"unknown scope {scope!r}: use package (or service), project or platform")
    return name
