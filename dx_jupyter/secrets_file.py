"""Reading an uploaded `secrets.json`: strict, with limits, and errors that say what to fix."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import names
from .errors import DXError, InvalidContent, InvalidInput, TooLarge

DEFAULT_MAX_FILE_BYTES = 1024 * 1024
DEFAULT_MAX_VALUE_BYTES = 64 * 1024
DEFAULT_MAX_DEPTH = 64


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise InvalidContent(f"duplicate key {key!r} in secrets.json; each name may appear once")
        seen[key] = value
    return seen


def _reject_constant(token: str) -> Any:
    raise InvalidContent(f"{token} is not valid JSON; secret values must be standard JSON")


# One encoder for every value: json.dumps with options builds a new encoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_value(value: Any) -> bytes:
    """The canonical bytes of a value: what is encrypted and what the size limit counts."""
    return _ENCODER.encode(value).encode()


def _too_deep(value: Any, limit: int) -> bool:
    """Whether arrays/objects nest deeper than `limit` (iterative: no recursion, stops early)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def check_value(name: str, value: Any, limits: Limits) -> bytes:
    if value is None:
        raise InvalidContent(f"secret {name!r} is null; give it a value or leave it out")
    # Deep values would hit the recursion limit when encoded or decoded later (500s on read).
    if isinstance(value, (dict, list)) and _too_deep(value, limits.max_depth):
        raise InvalidContent(
            f"secret {name!r} is nested too deeply; the limit is {limits.max_depth} levels of arrays/objects"
        )
    try:
        encoded = encode_value(value)
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"secret {name!r} is not a JSON value: {err}") from None
    if len(encoded) > limits.max_value_bytes:
        raise TooLarge(
            f"secret {name!r} is {len(encoded)} bytes as JSON; the limit is {limits.max_value_bytes} bytes"
        )
    return encoded


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    names_ = {list: "array", str: "string", dict: "object", type(None): "null"}
    return names_.get(type(value), type(value).__name__)


def _decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidContent(
            f"secrets.json is not UTF-8 text (bad byte at offset {err.start}); save it as UTF-8"
        ) from None


def parse(data: bytes, limits: Limits = Limits()) -> dict[str, bytes]:
    """Return `{name: encoded value}` for a secrets.json, or raise a DXError."""
    if not isinstance(data, (bytes, bytearray)):
        raise InvalidInput("secrets.json must be given as bytes")
    if len(data) > limits.max_file_bytes:
        raise TooLarge(
            f"secrets.json is {len(data)} bytes; the limit is {limits.max_file_bytes} bytes"
        )
    text = _decode_text(bytes(data))
    if not text.strip():
        raise InvalidContent("secrets.json is empty; it must hold a JSON object of name: value")
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise InvalidContent(
            f"secrets.json is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}"
        ) from None
    except RecursionError:
        raise InvalidContent("secrets.json is nested too deeply") from None
    except ValueError as err:  # e.g. an integer longer than Python's int_max_str_digits
        raise InvalidContent(f"secrets.json holds a value that cannot be read: {err}") from None
    if not isinstance(doc, dict):
        raise InvalidContent(
            f"secrets.json must hold a JSON object of name: value, not a JSON {json_type(doc)}"
        )
    out: dict[str, bytes] = {}
    for name, value in doc.items():
        try:
            names.secret_name(name)
        except DXError as err:
            raise InvalidContent(f"secrets.json: {err.message}") from None
        try:
            out[name] = check_value(name, value, limits)
        except InvalidInput as err:  # in a file it is the content that is wrong
            raise InvalidContent(f"secrets.json: {err.message}") from None
    return out
