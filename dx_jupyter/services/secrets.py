"""Scoped secrets: upload, set, delete, list and resolve, encrypted under per-owner data keys."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Optional

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import names
from ..errors import IntegrityFailure, InvalidInput, NotFound
from ..keyring import Keyring, Sealer, open_sealed, secret_aad, secret_aad_prefix
from ..scopes import SCOPES, normalize_scope
from ..secrets_file import Limits, check_value, parse
from ..store import Store
from ..store.models import DataKey, Secret, utcnow
from .keys import check_master_key_in
from .serialize import iso
from .owners import Owner, chain_for_names, chain_for_package, owner_for

UPSERT = "upsert"
REPLACE = "replace"
WRITE_BATCH = 1000  # rows per executemany in an upload


@dataclass(frozen=True)
class SecretInfo:
    """What may be shown of a secret: never its value."""

    name: str
    scope: str
    version: int
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scope": self.scope,
            "version": self.version,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


@dataclass
class UploadResult:
    scope: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def stored(self) -> list[str]:
        return sorted(self.created + self.updated)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "stored": self.stored,
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
        }


def _info(row: Secret) -> SecretInfo:
    return SecretInfo(row.name, row.scope, row.version, row.created_at, row.updated_at)


def _check_mode(mode: str) -> str:
    if mode not in (UPSERT, REPLACE):
        raise InvalidInput(f"unknown upload mode {mode!r}: use 'upsert' or 'replace'")
    return mode


class SecretsService:
    """All secret rules. Each public method is one transaction."""

    def __init__(self, store: Store, keyring: Keyring, limits: Limits = Limits()) -> None:
        self.store = store
        self.keyring = keyring
        self.limits = limits

    # ----- data keys -----
    def _lock_data_key(self, session: Session, owner: Owner) -> bytes:
        """The owner's data key, created if needed; its row also serializes writes to the owner."""
        query = (
            select(DataKey)
            .where(DataKey.scope == owner.scope, DataKey.owner_id == owner.id)
            .with_for_update()
        )
        row = session.scalar(query)
        if row is None:
            # A process still holding a master key rotated away elsewhere must not wrap a new
            # data key under it: that key would be unreadable once restarted with the new one.
            check_master_key_in(session, self.keyring)
            key = self.keyring.new_data_key()
            try:
                with session.begin_nested():
                    session.add(
                        DataKey(
                            scope=owner.scope,
                            owner_id=owner.id,
                            wrapped_key=self.keyring.wrap(key, owner.scope, owner.id),
                        )
                    )
                return key
            except IntegrityError:
                row = session.scalar(query)
        return self.keyring.unwrap(row.wrapped_key, owner.scope, owner.id)

    def owner_key(self, session: Session, owner: Owner) -> bytes:
        """An owner's data key, created if it has none yet (step results use it)."""
        return self._lock_data_key(session, owner)

    def read_owner_key(self, session: Session, owner: Owner) -> bytes:
        key = self._data_keys(session, [owner]).get((owner.scope, owner.id))
        if key is None:
            raise NotFound(f"{owner.label} has no data key")
        return key

    def _data_keys(self, session: Session, owners: Iterable[Owner]) -> dict[tuple[str, str], bytes]:
        wanted = {(o.scope, o.id) for o in owners}
        rows = session.scalars(
            select(DataKey).where(
                DataKey.scope.in_({s for s, _ in wanted}), DataKey.owner_id.in_({o for _, o in wanted})
            )
        )
        return {
            (r.scope, r.owner_id): self.keyring.unwrap(r.wrapped_key, r.scope, r.owner_id)
            for r in rows
            if (r.scope, r.owner_id) in wanted
        }

    # ----- writes -----
    def _write_values(
        self, session: Session, owner: Owner, values: dict[str, bytes], mode: str
    ) -> UploadResult:
        key = self._lock_data_key(session, owner)
        existing = {
            row.name: (row.id, row.version)
            for row in session.execute(
                select(Secret.name, Secret.id, Secret.version).where(
                    Secret.scope == owner.scope, Secret.owner_id == owner.id
                )
            )
        }
        now = utcnow()
        result = UploadResult(owner.scope)
        sealer = Sealer(key)
        aad_prefix = secret_aad_prefix(owner.scope, owner.id)
        # Core executemany (the ORM's per-row bookkeeping is not needed), in batches: holding
        # 10,000 parameter dicts alive at once set off full garbage-collector passes.
        table = Secret.__table__
        insert_rows = insert(table)
        update_rows = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(ciphertext=bindparam("blob"), version=bindparam("new_version"), updated_at=bindparam("now"))
        )
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for name, encoded in values.items():
            blob = sealer.seal(encoded, aad_prefix + name.encode())
            if name in existing:
                row_id, version = existing[name]
                updates.append({"row_id": row_id, "blob": blob, "new_version": version + 1, "now": now})
                result.updated.append(name)
                if len(updates) >= WRITE_BATCH:
                    session.execute(update_rows, updates)
                    updates = []
            else:
                inserts.append(
                    {"scope": owner.scope, "owner_id": owner.id, "name": name, "ciphertext": blob,
                     "version": 1, "created_at": now, "updated_at": now}
                )
                result.created.append(name)
                if len(inserts) >= WRITE_BATCH:
                    session.execute(insert_rows, inserts)
                    inserts = []
        if inserts:
            session.execute(insert_rows, inserts)
        if updates:
            session.execute(update_rows, updates)
        if mode == REPLACE:
            gone = sorted(set(existing) - set(values))
            if gone:
                session.execute(delete(Secret).where(Secret.id.in_([existing[n][0] for n in gone])))
            result.deleted = gone
        return result

    def upload_in(self, session: Session, owner: Owner, data: bytes, mode: str = UPSERT) -> UploadResult:
        """Upload inside a caller's transaction (package creation uses this)."""
        return self._write_values(session, owner, parse(data, self.limits), _check_mode(mode))

    def upload(
        self, data: bytes, scope: str, project: Optional[str] = None, package: Optional[str] = None,
        mode: str = UPSERT,
    ) -> UploadResult:
        _check_mode(mode)
        values = parse(data, self.limits)
        with self.store.write() as session:
            return self._write_values(session, owner_for(session, scope, project, package), values, mode)

    def set_for(self, session: Session, owner: Owner, name: str, value: Any) -> SecretInfo:
        names.secret_name(name)
        encoded = check_value(name, value, self.limits)
        self._write_values(session, owner, {name: encoded}, UPSERT)
        row = session.scalar(  # the write above is Core: refresh a row the session may hold
            select(Secret)
            .where(Secret.scope == owner.scope, Secret.owner_id == owner.id, Secret.name == name)
            .execution_options(populate_existing=True)
        )
        return _info(row)

    def set(
        self, name: str, value: Any, scope: str, project: Optional[str] = None, package: Optional[str] = None
    ) -> SecretInfo:
        with self.store.write() as session:
            return self.set_for(session, owner_for(session, scope, project, package), name, value)

    def set_for_package(self, package_id: str, name: str, value: Any, scope: str) -> SecretInfo:
        """A script's `context.secrets.set`: only the scopes of its own package's chain."""
        scope = normalize_scope(scope)
        with self.store.write() as session:
            chain = {o.scope: o for o in chain_for_package(session, package_id)}
            return self.set_for(session, chain[scope], name, value)

    def delete(self, name: str, scope: str, project: Optional[str] = None, package: Optional[str] = None) -> None:
        names.secret_name(name)
        with self.store.write() as session:
            owner = owner_for(session, scope, project, package)
            # Take the owner's write lock as set/upload do, so that a delete cannot slip between
            # a concurrent writer's read of the existing rows and its update (PostgreSQL).
            session.execute(
                select(DataKey.id)
                .where(DataKey.scope == owner.scope, DataKey.owner_id == owner.id)
                .with_for_update()
            )
            done = session.execute(
                delete(Secret).where(Secret.scope == owner.scope, Secret.owner_id == owner.id, Secret.name == name)
            )
            if done.rowcount == 0:
                raise NotFound(f"secret {name!r} does not exist in {owner.label}")

    def delete_owner(self, session: Session, owner: Owner) -> None:
        """Remove every secret and the data key of an owner that is being deleted."""
        session.execute(delete(Secret).where(Secret.scope == owner.scope, Secret.owner_id == owner.id))
        session.execute(delete(DataKey).where(DataKey.scope == owner.scope, DataKey.owner_id == owner.id))

    # ----- reads -----
    def list(self, scope: str, project: Optional[str] = None, package: Optional[str] = None) -> list[SecretInfo]:
        with self.store.read() as session:
            owner = owner_for(session, scope, project, package)
            rows = session.scalars(
                select(Secret).where(Secret.scope == owner.scope, Secret.owner_id == owner.id).order_by(Secret.name)
            )
            return [_info(r) for r in rows]

    def _decrypt(self, keys: dict[tuple[str, str], bytes], row: Secret) -> Any:
        what = f"secret {row.name!r} ({row.scope} scope)"
        key = keys.get((row.scope, row.owner_id))
        if key is None:
            raise NotFound(f"{what}: its owner's data key is missing")
        plaintext = open_sealed(key, row.ciphertext, secret_aad(row.scope, row.owner_id, row.name), what)
        return json.loads(plaintext)

    def _resolve_in(self, session: Session, chain: list[Owner], name: str) -> Any:
        names.secret_name(name)
        rows = {
            (r.scope, r.owner_id): r
            for r in session.scalars(
                # scope, owner_id and name together match the (scope, owner_id, name) unique index;
                # without the scope term SQLite scans the whole table on every lookup.
                select(Secret).where(
                    Secret.scope.in_({o.scope for o in chain}),
                    Secret.owner_id.in_([o.id for o in chain]),
                    Secret.name == name,
                )
            )
        }
        for owner in chain:
            row = rows.get((owner.scope, owner.id))
            if row is not None:
                try:
                    keys = self._data_keys(session, [owner])
                except IntegrityFailure as err:  # say which secret could not be read
                    raise IntegrityFailure(f"secret {name!r} ({owner.scope} scope): {err.message}") from None
                return self._decrypt(keys, row)
        return None

    def resolve(self, name: str, project: Optional[str] = None, package: Optional[str] = None) -> Any:
        """package -> project -> platform -> None, for the scopes the names give."""
        with self.store.read() as session:
            return self._resolve_in(session, chain_for_names(session, project, package), name)

    def resolve_for_package(self, package_id: str, name: str) -> Any:
        with self.store.read() as session:
            return self._resolve_in(session, chain_for_package(session, package_id), name)

    def resolve_scoped(self, package_id: str) -> dict[str, dict[str, Any]]:
        """Every secret a package may read, by scope: `{"package": {...}, "project": ..., "platform": ...}`."""
        with self.store.read() as session:
            chain = chain_for_package(session, package_id)
            keys = self._data_keys(session, chain)
            scoped: dict[str, dict[str, Any]] = {}
            for owner in chain:
                rows = session.scalars(
                    select(Secret).where(Secret.scope == owner.scope, Secret.owner_id == owner.id)
                )
                scoped[owner.scope] = {row.name: self._decrypt(keys, row) for row in rows}
            return scoped

    def values_changed_since(self, package_id: str, since: datetime) -> list[Any]:
        """Values in the package's chain written at or after `since` (e.g. by its running scripts)."""
        with self.store.read() as session:
            chain = chain_for_package(session, package_id)
            rows = [
                row
                for owner in chain
                for row in session.scalars(
                    select(Secret).where(
                        Secret.scope == owner.scope,
                        Secret.owner_id == owner.id,
                        Secret.updated_at >= since,
                    )
                )
            ]
            if not rows:
                return []
            keys = self._data_keys(session, chain)
            return [self._decrypt(keys, row) for row in rows]

    def resolve_chain(self, package_id: str) -> dict[str, Any]:
        """Every secret a package may read; package names win over project over platform."""
        return merge_scopes(self.resolve_scoped(package_id))


def merge_scopes(scoped: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for scope in reversed(SCOPES):
        merged.update(scoped.get(scope, {}))
    return merged
