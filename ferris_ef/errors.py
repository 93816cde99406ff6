"""Errors raised by ferris_ef. Each message says what to change."""
from __future__ import annotations

from typing import Optional


class FerrisError(Exception):
    """A ferris_ef call could not be done: no context, a bad ef_env.json, a refused API call...

    `message` is the human message; `kind` is the server's error kind when the server gave one
    (for example "forbidden"), and `status` its HTTP status.
    """

    def __init__(self, message: str, kind: Optional[str] = None, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status


class NotAvailableError(FerrisError, AttributeError):
    """A part of the ferris_ef API that this version does not provide yet.

    It is also an AttributeError, so `hasattr(context, "scheduler")` is False.
    """
