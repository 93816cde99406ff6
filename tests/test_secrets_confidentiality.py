"""Invariant 1: no secret value in plain text anywhere at rest.

Unique random canaries go in through every write path (upload, set, package creation with a
secrets.json among its scripts, updates, key rotation); then every byte of every file under
the data dir (the database, its -wal/-shm/-journal, anything else) is searched for them, in
UTF-8, JSON-escaped and base64 forms, while the store is open and after a checkpoint and close.
"""
import base64
import json
import logging
import os
import secrets as pyrandom
from pathlib import Path

import pytest
from sqlalchemy import text

from dx_jupyter.backend import open_backend
from dx_jupyter.services.keys import rotate_data_key
from dx_jupyter.services.owners import PLATFORM_OWNER
from dx_jupyter.services.packages import Upload


def _canary(prefix: str) -> str:
    return f"{prefix}-{pyrandom.token_hex(12)}"


def _forms(value: str) -> set[bytes]:
    """Byte patterns that would betray `value`: raw UTF-8, JSON-escaped (both ASCII and not),
    and base64 at each of the three alignments (the tail, which depends on what follows, dropped)."""
    raw = value.encode("utf-8")
    forms = {
        raw,
        json.dumps(value)[1:-1].encode("utf-8"),
        json.dumps(value, ensure_ascii=False)[1:-1].encode("utf-8"),
    }
    for shift in range(3):
        encoded = base64.b64encode(raw[shift:])
        forms.add(encoded[: len(encoded) - 4])
    return {f for f in forms if len(f) >= 12}


def _files(root: Path) -> list[Path]:
    return [Path(d) / f for d, _, files in os.walk(root) for f in files]


def _leaks(root: Path, canaries: list[str]) -> list[tuple[str, str]]:
    found = []
    for path in _files(root):
        data = path.read_bytes()
        for c in canaries:
            if any(form in data for form in _forms(c)):
                found.append((str(path.relative_to(root)), c))
    return found


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def canaries():
    plain = _canary("plain")
    escaped = _canary('quote"back\\slash\nnew/line\ttab')
    unicode_ = _canary("pässwörd-ключ-🔑")
    leaf_a, leaf_b, leaf_c = _canary("leaf-a"), _canary("leaf-b"), _canary("leaf-c")
    set_value, set_leaf = _canary("set"), _canary("set-leaf")
    in_package = _canary("pkg-file")
    updated_old, updated_new = _canary("old"), _canary("new")
    replaced = _canary("replaced")
    rotated = _canary("rotated")
    return {
        "upload": {
            "PLAIN": plain,
            "ESCAPED": escaped,
            "UNICODE": unicode_,
            "NESTED": {"a": leaf_a, "list": [1, leaf_b, {"deep": leaf_c}]},
        },
        "set": {"SET_VALUE": set_value, "SET_OBJECT": {"k": set_leaf}},
        "package_file": {"DB_PASS": in_package},
        "updated": (updated_old, updated_new),
        "replaced": replaced,
        "rotated": rotated,
        "all": [plain, escaped, unicode_, leaf_a, leaf_b, leaf_c, set_value, set_leaf, in_package,
                updated_old, updated_new, replaced, rotated],
    }


def _write_everything(backend, c):
    backend.projects.create("proj")
    backend.packages.create(
        "proj",
        "pkg",
        scripts=[
            Upload("step1.py", b"print('hello')\n"),
            Upload("secrets.json", json.dumps(c["package_file"]).encode()),
        ],
    )
    backend.secrets.upload(json.dumps(c["upload"]).encode(), "project", "proj")
    for name, value in c["set"].items():
        backend.secrets.set(name, value, "platform")
    old, new = c["updated"]
    backend.secrets.set("UPDATED", old, "package", "proj", "pkg")
    backend.secrets.set("UPDATED", new, "package", "proj", "pkg")
    backend.secrets.upload(json.dumps({"GONE": c["replaced"]}).encode(), "package", "proj", "pkg")
    backend.secrets.upload(json.dumps({"UPDATED": new}).encode(), "package", "proj", "pkg", mode="replace")
    backend.secrets.set("ROTATED", c["rotated"], "platform")
    rotate_data_key(backend.store, backend.keyring, PLATFORM_OWNER)


def test_canary_forms_are_found_when_present(tmp_path):
    """The detector itself works: a canary written in clear is found in every form."""
    value = _canary('x"y\\z-é')
    for form in [value.encode(), json.dumps(value).encode(), base64.b64encode(b"ab" + value.encode())]:
        (tmp_path / "f").write_bytes(b"...." + form + b"....")
        assert _leaks(tmp_path, [value]), form


def test_no_canary_in_any_file_while_the_store_is_open(data_dir, master_key, canaries):
    backend = open_backend(f"sqlite:///{data_dir}/dx.db", master_key)
    try:
        _write_everything(backend, canaries)
        names = {p.name for p in _files(data_dir)}
        assert "dx.db-wal" in names  # the WAL is really searched, not only the main file
        assert _leaks(data_dir, canaries["all"]) == []
        # The values are really stored (the search is not vacuous).
        assert backend.secrets.resolve("PLAIN", "proj", "pkg") == canaries["upload"]["PLAIN"]
        assert backend.secrets.resolve("ROTATED") == canaries["rotated"]
    finally:
        backend.close()


def test_no_canary_in_any_file_after_checkpoint_and_close(data_dir, master_key, canaries):
    backend = open_backend(f"sqlite:///{data_dir}/dx.db", master_key)
    try:
        _write_everything(backend, canaries)
        with backend.store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert _leaks(data_dir, canaries["all"]) == []
    finally:
        backend.close()
    assert (data_dir / "dx.db").stat().st_size > 0
    assert _leaks(data_dir, canaries["all"]) == []
    reopened = open_backend(f"sqlite:///{data_dir}/dx.db", master_key)
    try:
        assert reopened.secrets.resolve("NESTED", "proj", "pkg") == canaries["upload"]["NESTED"]
    finally:
        reopened.close()


def test_only_database_files_are_written_to_the_data_dir(data_dir, master_key, canaries):
    """The store forces WAL on every connection (so no -journal): nothing else lands beside it."""
    backend = open_backend(f"sqlite:///{data_dir}/dx.db", master_key)
    try:
        _write_everything(backend, canaries)
        assert {p.name for p in _files(data_dir)} <= {"dx.db", "dx.db-wal", "dx.db-shm"}
    finally:
        backend.close()
    assert {p.name for p in _files(data_dir)} <= {"dx.db", "dx.db-wal", "dx.db-shm"}


def test_no_canary_in_logs_at_debug_level(data_dir, master_key, canaries, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)  # SQL and parameters
    try:
        backend = open_backend(f"sqlite:///{data_dir}/dx.db", master_key)
        try:
            _write_everything(backend, canaries)
            backend.secrets.resolve_scoped(backend.packages.get_id("proj", "pkg"))
        finally:
            backend.close()
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    logged = caplog.text
    assert "INSERT INTO secrets" in logged  # the engine really logged its statements
    for c in canaries["all"]:
        assert not any(form.decode("utf-8", "replace") in logged for form in _forms(c)), c


def test_stored_ciphertext_is_not_the_value(backend, tmp_path):
    value = _canary("direct")
    backend.secrets.set("X", value, "platform")
    with backend.store.engine.connect() as conn:
        blob = conn.execute(text("SELECT ciphertext FROM secrets WHERE name = 'X'")).scalar_one()
    assert value.encode() not in blob
    # nonce (12) + JSON-encoded value + GCM tag (16)
    assert len(blob) == 12 + len(json.dumps(value)) + 16
