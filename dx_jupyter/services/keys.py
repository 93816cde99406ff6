"""Master-key checks and key rotation. Each rotation is one transaction: interrupted, it loses nothing."""
from __future__ import annotations

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from ..keyring import Keyring, open_sealed, seal, secret_aad
from ..store import Store
from ..store.models import DataKey, Meta, Secret, utcnow
from .owners import Owner

CHECK_KEY = "master_key_check"


def verify_master_key(store: Store, keyring: Keyring) -> None:
    """Raise MasterKeyMismatch before anything is written if the store knows another key.

    Runs before migrations, so a wrong key leaves even the schema untouched.
    """
    with store.engine.connect() as conn:
        if not inspect(conn).has_table(Meta.__tablename__):
            return
    with store.read() as session:
        row = session.get(Meta, CHECK_KEY)
        if row is not None:
            keyring.verify_check(row.value)


def check_master_key_in(session: Session, keyring: Keyring) -> None:
    """Inside a write: refuse a master key that a rotation (maybe by another process) retired.

    The check row is locked, so this serializes with `rotate_master_key`.
    """
    row = session.get(Meta, CHECK_KEY, with_for_update=True)
    if row is not None:
        keyring.verify_check(row.value)


def record_master_key(store: Store, keyring: Keyring) -> None:
    with store.write() as session:
        if session.get(Meta, CHECK_KEY) is None:
            session.add(Meta(key=CHECK_KEY, value=keyring.make_check()))


def rotate_master_key(store: Store, old: Keyring, new: Keyring) -> int:
    """Re-wrap every data key under a new master key; returns how many were re-wrapped."""
    with store.write() as session:
        check_master_key_in(session, old)
        rows = session.scalars(select(DataKey).with_for_update()).all()
        for row in rows:
            key = old.unwrap(row.wrapped_key, row.scope, row.owner_id)
            row.wrapped_key = new.wrap(key, row.scope, row.owner_id)
            row.rotated_at = utcnow()
        session.get(Meta, CHECK_KEY).value = new.make_check()
        return len(rows)


def rotate_data_key(store: Store, keyring: Keyring, owner: Owner) -> int:
    """Give an owner a fresh data key and re-encrypt its values; returns how many."""
    with store.write() as session:
        row = session.scalar(
            select(DataKey).where(DataKey.scope == owner.scope, DataKey.owner_id == owner.id).with_for_update()
        )
        if row is None:
            return 0
        old_key = keyring.unwrap(row.wrapped_key, owner.scope, owner.id)
        new_key = keyring.new_data_key()
        secrets = session.scalars(
            select(Secret).where(Secret.scope == owner.scope, Secret.owner_id == owner.id)
        ).all()
        for secret in secrets:
            aad = secret_aad(owner.scope, owner.id, secret.name)
            plaintext = open_sealed(old_key, secret.ciphertext, aad, f"secret {secret.name!r}")
            secret.ciphertext = seal(new_key, plaintext, aad)
        row.wrapped_key = keyring.wrap(new_key, owner.scope, owner.id)
        row.generation += 1
        row.rotated_at = utcnow()
        return len(secrets)
