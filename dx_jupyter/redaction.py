"""Masking secret values in text before it is stored or shown.

Every string leaf of every readable secret is masked, together with the forms a script is
likely to print it in: JSON-escaped (`json.dumps`, once or twice, ASCII or not), Python `repr`,
and, for structured values, their whole JSON and `str()` text. Numbers count as leaves too.
Leaves shorter than `min_length` characters are left alone, in every form: masking "1" or "ab"
would shred ordinary output and reveal more by the pattern than it hides.
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
        if isinstance(value, float):
            yield repr(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)


def _escaped(text: str) -> Iterator[str]:
    for ascii_only in (True, False):
        once = json.dumps(text, ensure_ascii=ascii_only)[1:-1]
        yield once
        yield json.dumps(once, ensure_ascii=ascii_only)[1:-1]  # JSON inside a JSON string
    yield repr(text)[1:-1]


def _forms(value: Any, min_length: int) -> Iterator[str]:
    for leaf in _leaves(value):
        if len(leaf) < min_length:
            continue
        yield leaf
        yield from _escaped(leaf)
    if isinstance(value, (dict, list)):
        for text in (
            json.dumps(value),
            json.dumps(value, ensure_ascii=False),
            json.dumps(value, separators=(",", ":")),
            str(value),
        ):
            if len(text) >= min_length:
                yield text
                yield from _escaped(text)


class Redactor:
    """Replaces every known form of the given values with `[REDACTED]`."""

    def __init__(self, values: Iterable[Any], min_length: int = DEFAULT_MIN_LENGTH) -> None:
        floor = max(1, min_length)  # an empty needle would match between every two characters
        needles = {form for value in values for form in _forms(value, floor) if form}
        ordered = sorted(needles, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self.longest = len(ordered[0]) if ordered else 0
        """Length in characters of the longest form that is masked."""
        self.longest_bytes = max((len(n.encode("utf-8")) for n in ordered), default=0)
        """Length in UTF-8 bytes of the longest form that is masked."""

    def __bool__(self) -> bool:
        return self._pattern is not None

    def redact(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def redact_head(self, text: str, cut: int) -> str:
        """`text[:cut]`, masked, where a value that begins before `cut` is masked whole.

        For truncated output: cutting first and masking after would keep the first characters
        of a value that straddles the cut. `text` must extend at least `longest` characters
        past `cut` (where there is more), so that every such value is there to be found.
        """
        if self._pattern is None:
            return text[:cut]
        end = cut
        for match in self._pattern.finditer(text):
            if match.start() >= cut:
                break
            end = max(end, match.end())
        return self._pattern.sub(MASK, text[:end])
