"""Masking secret values in text before it is stored or shown.

Every string leaf of every readable secret is masked, together with the forms a script is
likely to print it in: JSON-escaped (`json.dumps`), Python `repr`, and, for structured values,
their whole JSON text. Values shorter than `min_length` characters are left alone: masking
"1" or "ab" would shred ordinary output and reveal more by the pattern than it hides.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterable, Iterator

MASK = "[REDACTED]"
DEFAULT_MIN_LENGTH = 4


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, (int, float)):
        yield str(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)


def _forms(value: Any) -> Iterator[str]:
    for leaf in _leaves(value):
        yield leaf
        yield json.dumps(leaf)[1:-1]
        yield json.dumps(leaf, ensure_ascii=False)[1:-1]
        yield repr(leaf)[1:-1]
    if isinstance(value, (dict, list)):
        yield json.dumps(value)
        yield json.dumps(value, ensure_ascii=False)
        yield json.dumps(value, separators=(",", ":"))
        yield str(value)


class Redactor:
    """Replaces every known form of the given values with `[REDACTED]`."""

    def __init__(self, values: Iterable[Any], min_length: int = DEFAULT_MIN_LENGTH) -> None:
        needles = {form for value in values for form in _forms(value) if len(form) >= min_length}
        ordered = sorted(needles, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def redact(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)
