"""Package state: the `context.state` dict a package keeps across executions (not secret).

One row per package in `package_state`; every write is one transaction that locks the row,
so concurrent `put`s of different keys all land, and bumps `version`.
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidInput, TooLarge
from ..store import Store
from ..store.models import PackageState, utcnow
from .owners import get_package_by_id

MAX_KEY_LENGTH = 256
DEFAULT_MAX_STATE_BYTES = 1024 * 1024


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"a state key must be a non-empty string, got {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"state key {key[:40]!r}... is {len(key)} characters; the limit is {MAX_KEY_LENGTH}")
    return key


class StateService:
    def __init__(self, store: Store, max_state_bytes: int = DEFAULT_MAX_STATE_BYTES) -> None:
        self.store = store
        self.max_state_bytes = max_state_bytes

    def get(self, package_id: str) -> dict[str, Any]:
        """The package's state; `{}` before the first put. NotFound for an unknown package."""
        with self.store.read() as session:
            get_package_by_id(session, package_id)
            row = session.get(PackageState, package_id)
            return {} if row is None else json.loads(row.state_json)

    def put(self, package_id: str, key: str, value: Any) -> dict[str, Any]:
        """Set one key (any JSON value, null included) and return the whole new state."""
        _check_key(key)
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise InvalidInput(f"state key {key!r}: the value is not a JSON value: {err}") from None
        with self.store.write() as session:
            row = self._lock_row(session, package_id)
            state = json.loads(row.state_json)
            state[key] = value
            text = json.dumps(state, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            size = len(text.encode("utf-8"))
            if size > self.max_state_bytes:
                raise TooLarge(
                    f"the package state would be {size} bytes as JSON; the limit is {self.max_state_bytes} bytes"
                )
            row.state_json = text
            row.version += 1
            row.updated_at = utcnow()
            return state

    @staticmethod
    def _lock_row(session: Any, package_id: str) -> PackageState:
        query = select(PackageState).where(PackageState.package_id == package_id).with_for_update()
        row = session.scalar(query)
        if row is not None:
            return row
        get_package_by_id(session, package_id)
        try:
            with session.begin_nested():
                row = PackageState(package_id=package_id, state_json="{}", version=0)
                session.add(row)
            return row
        except IntegrityError:  # another writer created it first (PostgreSQL); take theirs
            return session.scalar(query)
