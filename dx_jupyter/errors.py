"""Typed errors shared by the services, the CLI and the HTTP layer.

Services raise these; they know nothing of HTTP. The handlers map each kind to a status code
and the CLI prints the message, so every message must tell a user what to change.
"""
from __future__ import annotations


class DXError(Exception):
    """Base class: `kind` is a stable machine-readable name, `str(err)` the human message."""

    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DXError):
    """The request is malformed: bad name, wrong type, missing field."""

    kind = "invalid_input"


class InvalidContent(DXError):
    """The request is well formed but its content is unacceptable (e.g. a JSON array as secrets.json)."""

    kind = "invalid_content"


class TooLarge(DXError):
    """A size limit was exceeded; the message names the limit."""

    kind = "too_large"


class NotFound(DXError):
    kind = "not_found"


class Conflict(DXError):
    """The object already exists, or is not in a state that allows the operation."""

    kind = "conflict"


class Forbidden(DXError):
    kind = "forbidden"


class IntegrityFailure(DXError):
    """A stored ciphertext failed authentication: it was modified or moved."""

    kind = "integrity_failure"


class MasterKeyMismatch(DXError):
    """The configured master key is not the one the store is locked with (created with, or rotated to)."""

    kind = "master_key_mismatch"
