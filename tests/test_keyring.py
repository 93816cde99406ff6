"""Master key (invariant 8), its providers, and key rotation, on real SQLite files."""
import base64
import hashlib
import logging
import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config

from dx_jupyter.backend import open_backend
from dx_jupyter.errors import IntegrityFailure, MasterKeyMismatch
from dx_jupyter.keyring import (
    MASTER_KEY_ENV,
    EnvOrFileMasterKeyProvider,
    Keyring,
    MasterKeyError,
    decode_key,
    encode_key,
)
from dx_jupyter.services.keys import record_master_key, rotate_data_key, rotate_master_key
from dx_jupyter.services.owners import PLATFORM_OWNER, Owner
from dx_jupyter.store import Store
from dx_jupyter.store.database import MIGRATIONS_DIR
from postgres import sql_rows

VALUES = {"DB_NAME": "test_db", "DB_PASS": "supersecretpas$", "OBJ": {"k": ["v", 1]}}


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _fingerprint(directory: Path) -> dict[str, str]:
    """Name and SHA-256 of every file in the directory (db, -wal, -shm, anything else)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir()) if p.is_file()
    }


def _populate(backend) -> None:
    import json

    backend.projects.create("proj")
    backend.packages.create("proj", "pkg")
    backend.secrets.upload(json.dumps(VALUES).encode(), "package", "proj", "pkg")
    backend.secrets.upload(b'{"P": "project"}', "project", "proj")
    backend.secrets.upload(b'{"X": "platform"}', "platform")


def _read_all(backend) -> dict:
    return backend.secrets.resolve_scoped(backend.packages.get_id("proj", "pkg"))


EXPECTED = {"package": VALUES, "project": {"P": "project"}, "platform": {"X": "platform"}}


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def populated(data_dir, master_key):
    """A closed store at data_dir/dx.db holding secrets in all three scopes."""
    b = open_backend(_url(data_dir / "dx.db"), master_key)
    _populate(b)
    b.close()
    return data_dir / "dx.db"


# ----- wrong master key (invariant 8) -----
def test_reopening_with_the_right_key_reads_everything(populated, master_key):
    b = open_backend(_url(populated), master_key)
    try:
        assert _read_all(b) == EXPECTED
    finally:
        b.close()


def test_wrong_master_key_is_refused_with_a_clear_message(populated):
    with pytest.raises(MasterKeyMismatch) as caught:
        open_backend(_url(populated), os.urandom(32))
    message = str(caught.value)
    assert "not the one this store is locked with" in message
    assert MASTER_KEY_ENV in message
    assert "nothing was changed" in message
    assert caught.value.kind == "master_key_mismatch"


def test_wrong_master_key_leaves_every_file_byte_identical(populated, data_dir):
    before = _fingerprint(data_dir)
    assert "dx.db" in before
    for _ in range(3):
        with pytest.raises(MasterKeyMismatch):
            open_backend(_url(populated), os.urandom(32))
    assert _fingerprint(data_dir) == before


def test_wrong_master_key_with_a_wal_present_leaves_db_and_wal_identical(populated, data_dir, master_key):
    """A reader holds the store open so its -wal stays on disk; the refused open changes neither."""
    holder = sqlite3.connect(populated)
    try:
        holder.execute("PRAGMA wal_autocheckpoint=0")
        holder.execute("SELECT count(*) FROM secrets").fetchone()
        b = open_backend(_url(populated), master_key)  # write something so the WAL has frames
        b.secrets.set("LATE", "late-value", "platform")
        b.close()
        # -shm is SQLite's shared-memory WAL index that every reader updates; it holds no data.
        before = {k: v for k, v in _fingerprint(data_dir).items() if k != "dx.db-shm"}
        assert "dx.db-wal" in before and "dx.db" in before
        with pytest.raises(MasterKeyMismatch):
            open_backend(_url(populated), os.urandom(32))
        assert {k: v for k, v in _fingerprint(data_dir).items() if k != "dx.db-shm"} == before
    finally:
        holder.close()


def test_wrong_master_key_refuses_before_migrating_an_old_schema(data_dir, master_key):
    """The check runs before Alembic: an old store met with a wrong key keeps its old schema."""
    url = _url(data_dir / "dx.db")
    store = Store(url)
    with store.engine.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    record_master_key(store, Keyring(master_key))
    store.dispose()
    before = _fingerprint(data_dir)
    with pytest.raises(MasterKeyMismatch):
        open_backend(url, os.urandom(32))
    assert _fingerprint(data_dir) == before
    con = sqlite3.connect(data_dir / "dx.db")
    try:
        assert con.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
    finally:
        con.close()
    # The right key then upgrades it.
    b = open_backend(url, master_key)
    b.close()
    con = sqlite3.connect(data_dir / "dx.db")
    try:
        assert con.execute("SELECT version_num FROM alembic_version").fetchone() == ("0003",)
    finally:
        con.close()


def test_a_fresh_store_records_the_key_it_was_created_with(data_dir, master_key):
    open_backend(_url(data_dir / "dx.db"), master_key).close()
    with pytest.raises(MasterKeyMismatch):
        open_backend(_url(data_dir / "dx.db"), os.urandom(32))


# ----- malformed keys -----
@pytest.mark.parametrize(
    "env_value, message",
    [
        ("not base64!!", "is not valid base64"),
        ("abc", "is not valid base64"),
        (base64.b64encode(os.urandom(16)).decode(), "must decode to 32 bytes, got 16"),
        (base64.b64encode(os.urandom(33)).decode(), "must decode to 32 bytes, got 33"),
        ("   ", "must decode to 32 bytes, got 0"),
    ],
    ids=["not-base64", "bad-padding", "16-bytes", "33-bytes", "blank"],
)
def test_malformed_env_master_key_is_a_clear_error(monkeypatch, env_value, message):
    monkeypatch.setenv(MASTER_KEY_ENV, env_value)
    with pytest.raises(MasterKeyError) as caught:
        EnvOrFileMasterKeyProvider().get_master_key()
    assert f"${MASTER_KEY_ENV}" in str(caught.value)
    assert message in str(caught.value)


def test_error_for_a_malformed_key_does_not_echo_the_key(monkeypatch):
    almost = base64.b64encode(os.urandom(31)).decode()
    monkeypatch.setenv(MASTER_KEY_ENV, almost)
    with pytest.raises(MasterKeyError) as caught:
        EnvOrFileMasterKeyProvider().get_master_key()
    assert almost not in str(caught.value)


def test_valid_env_master_key_is_used_and_beats_the_key_file(monkeypatch, tmp_path):
    key = os.urandom(32)
    monkeypatch.setenv(MASTER_KEY_ENV, encode_key(key))
    key_file = tmp_path / "master.key"
    assert EnvOrFileMasterKeyProvider(key_file=str(key_file)).get_master_key() == key
    assert not key_file.exists()


def test_malformed_key_file_is_a_clear_error_naming_the_file(monkeypatch, tmp_path):
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    key_file = tmp_path / "master.key"
    key_file.write_text("garbage!!\n")
    key_file.chmod(0o600)
    with pytest.raises(MasterKeyError, match=f"master key file {key_file} is not valid base64"):
        EnvOrFileMasterKeyProvider(key_file=str(key_file)).get_master_key()


def test_no_env_and_no_key_file_is_a_clear_error(monkeypatch):
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    with pytest.raises(MasterKeyError, match=f"set \\${MASTER_KEY_ENV} or a key file path"):
        EnvOrFileMasterKeyProvider().get_master_key()


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_keyring_refuses_a_key_of_the_wrong_length(size):
    with pytest.raises(MasterKeyError, match="must be 32 bytes"):
        Keyring(os.urandom(size))


def test_open_backend_with_a_short_key_creates_no_database(tmp_path):
    with pytest.raises(MasterKeyError):
        open_backend(_url(tmp_path / "dx.db"), os.urandom(16))
    assert not (tmp_path / "dx.db").exists()


def test_decode_key_round_trips_encode_key():
    key = os.urandom(32)
    assert decode_key(encode_key(key) + "\n", "test") == key


# ----- key file provider -----
def test_key_file_is_created_with_mode_0600_and_reused(monkeypatch, tmp_path):
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    key_file = tmp_path / "nested" / "dir" / "master.key"
    first = EnvOrFileMasterKeyProvider(key_file=str(key_file)).get_master_key()
    assert len(first) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = EnvOrFileMasterKeyProvider(key_file=str(key_file)).get_master_key()
    assert second == first
    assert decode_key(key_file.read_text(), "file") == first
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["master.key"]


def test_key_file_is_0600_even_with_a_permissive_umask(monkeypatch, tmp_path):
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    old = os.umask(0)
    try:
        key_file = tmp_path / "master.key"
        EnvOrFileMasterKeyProvider(key_file=str(key_file)).get_master_key()
    finally:
        os.umask(old)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_key_file_readable_by_others_is_used_with_a_warning(monkeypatch, tmp_path, caplog):
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    key = os.urandom(32)
    key_file = tmp_path / "master.key"
    key_file.write_text(encode_key(key))
    key_file.chmod(0o644)
    provider = EnvOrFileMasterKeyProvider(key_file=str(key_file))
    provider.log.propagate = True
    with caplog.at_level(logging.WARNING):
        assert provider.get_master_key() == key
    assert "readable by others" in caplog.text


def test_concurrent_first_starts_agree_on_one_key_file(monkeypatch, tmp_path):
    """Server and CLI starting together the first time: one key, no error, no half-read file."""
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    for trial in range(15):
        key_file = tmp_path / f"t{trial}" / "master.key"
        barrier = threading.Barrier(8)
        keys, errors = [], []

        def start():
            barrier.wait()
            try:
                keys.append(EnvOrFileMasterKeyProvider(key_file=str(key_file)).get_master_key())
            except Exception as err:  # noqa: BLE001 - collected and asserted below
                errors.append(repr(err))

        threads = [threading.Thread(target=start) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(set(keys)) == 1 and len(keys) == 8
        assert decode_key(key_file.read_text(), "file") == keys[0]
        assert sorted(p.name for p in key_file.parent.iterdir()) == ["master.key"]


# ----- master-key rotation -----
def test_rotate_master_key_then_the_new_key_reads_everything_and_the_old_is_refused(populated, master_key):
    new_key = os.urandom(32)
    store = Store(_url(populated))
    try:
        assert rotate_master_key(store, Keyring(master_key), Keyring(new_key)) == 3
    finally:
        store.dispose()
    b = open_backend(_url(populated), new_key)
    try:
        assert _read_all(b) == EXPECTED
    finally:
        b.close()
    with pytest.raises(MasterKeyMismatch):
        open_backend(_url(populated), master_key)


def test_rotate_master_key_rewraps_data_keys_but_leaves_ciphertexts(populated, master_key):
    con = sqlite3.connect(populated)
    wrapped_before = con.execute("SELECT id, wrapped_key FROM data_keys ORDER BY id").fetchall()
    secrets_before = con.execute("SELECT * FROM secrets ORDER BY id").fetchall()
    con.close()
    store = Store(_url(populated))
    rotate_master_key(store, Keyring(master_key), Keyring(os.urandom(32)))
    store.dispose()
    con = sqlite3.connect(populated)
    wrapped_after = con.execute("SELECT id, wrapped_key FROM data_keys ORDER BY id").fetchall()
    secrets_after = con.execute("SELECT * FROM secrets ORDER BY id").fetchall()
    con.close()
    assert [i for i, _ in wrapped_after] == [i for i, _ in wrapped_before]
    assert all(a != b for (_, a), (_, b) in zip(wrapped_before, wrapped_after))
    assert secrets_after == secrets_before


def test_rotate_master_key_with_a_wrong_old_key_changes_nothing(populated, data_dir, master_key):
    before = _fingerprint(data_dir)
    store = Store(_url(populated))
    try:
        with pytest.raises(MasterKeyMismatch):
            rotate_master_key(store, Keyring(os.urandom(32)), Keyring(os.urandom(32)))
    finally:
        store.dispose()
    assert _fingerprint(data_dir) == before
    b = open_backend(_url(populated), master_key)
    try:
        assert _read_all(b) == EXPECTED
    finally:
        b.close()


def test_rotate_master_key_failing_midway_rolls_back_every_rewrap(populated, master_key):
    """The last data key is corrupt: the keys re-wrapped before it must not stay re-wrapped."""
    con = sqlite3.connect(populated)
    rows = con.execute("SELECT id, wrapped_key FROM data_keys ORDER BY id").fetchall()
    assert len(rows) == 3
    last_id, last_blob = rows[-1]
    con.execute("UPDATE data_keys SET wrapped_key = ? WHERE id = ?", (last_blob[:-1] + bytes([last_blob[-1] ^ 1]), last_id))
    con.commit()
    snapshot = con.execute("SELECT * FROM data_keys ORDER BY id").fetchall()
    meta = con.execute("SELECT * FROM dx_meta").fetchall()
    con.close()
    new_key = os.urandom(32)
    store = Store(_url(populated))
    try:
        with pytest.raises(IntegrityFailure, match="data key"):
            rotate_master_key(store, Keyring(master_key), Keyring(new_key))
    finally:
        store.dispose()
    con = sqlite3.connect(populated)
    assert con.execute("SELECT * FROM data_keys ORDER BY id").fetchall() == snapshot
    assert con.execute("SELECT * FROM dx_meta").fetchall() == meta
    con.close()
    with pytest.raises(MasterKeyMismatch):
        open_backend(_url(populated), new_key)
    b = open_backend(_url(populated), master_key)
    b.close()


def test_a_server_still_on_the_old_key_cannot_write_after_rotation(populated, master_key):
    """Rotation by the CLI while a server holds the old key: the server's writes must fail
    loudly instead of wrapping new data keys under the retired key (unreadable after restart)."""
    server = open_backend(_url(populated), master_key)
    try:
        new_key = os.urandom(32)
        cli = Store(_url(populated))
        try:
            rotate_master_key(cli, Keyring(master_key), Keyring(new_key))
        finally:
            cli.dispose()
        server.projects.create("later")
        with pytest.raises(MasterKeyMismatch, match="not the one this store is locked with"):
            server.secrets.upload(b'{"NEW": "value"}', "project", "later")  # would create a data key
        with pytest.raises(IntegrityFailure, match="data key of project"):
            server.secrets.upload(b'{"NEW": "value"}', "project", "proj")  # existing, re-wrapped key
    finally:
        server.close()
    restarted = open_backend(_url(populated), new_key)
    try:
        assert _read_all(restarted) == EXPECTED
        assert restarted.secrets.list("project", "later") == []
    finally:
        restarted.close()


# ----- data-key rotation -----
def test_rotate_data_key_reencrypts_values_and_keeps_them(backend, tmp_path):
    _populate(backend)
    pkg_id = backend.packages.get_id("proj", "pkg")
    owner = Owner("package", pkg_id, "package proj/pkg")

    def rows():
        store, owner = backend.store, {"owner": pkg_id}
        return (
            dict(sql_rows(store, "SELECT name, ciphertext FROM secrets WHERE owner_id = :owner", **owner)),
            sql_rows(store, "SELECT wrapped_key, generation FROM data_keys WHERE owner_id = :owner", **owner)[0],
            dict(sql_rows(store, "SELECT name, ciphertext FROM secrets WHERE owner_id != :owner", **owner)),
        )

    ct_before, (wrapped_before, gen_before), others_before = rows()
    assert rotate_data_key(backend.store, backend.keyring, owner) == len(VALUES)
    ct_after, (wrapped_after, gen_after), others_after = rows()
    assert set(ct_after) == set(ct_before)
    assert all(ct_after[n] != ct_before[n] for n in ct_before)
    assert wrapped_after != wrapped_before and gen_after == gen_before + 1
    assert others_after == others_before
    assert _read_all(backend) == EXPECTED
    assert [s.version for s in backend.secrets.list("package", "proj", "pkg")] == [1, 1, 1]


def test_rotate_data_key_of_an_owner_without_key_does_nothing(backend):
    assert rotate_data_key(backend.store, backend.keyring, PLATFORM_OWNER) == 0


def test_rotate_data_key_then_reopen_reads_everything(populated, master_key):
    b = open_backend(_url(populated), master_key)
    try:
        rotate_data_key(b.store, b.keyring, PLATFORM_OWNER)
    finally:
        b.close()
    b = open_backend(_url(populated), master_key)
    try:
        assert _read_all(b) == EXPECTED
    finally:
        b.close()


# ----- associated data -----
@pytest.mark.parametrize("scope, owner_id, name", [
    ("package", "0123456789abcdef0123456789abcdef", "DB_PASS"),
    ("platform", "platform", "a.b-c_d"),
    ("project", "p", "N" * 128),
])
def test_bulk_aad_prefix_gives_the_same_associated_data(scope, owner_id, name):
    """Bulk uploads seal with `prefix + name`; reads open with `secret_aad`: they must agree."""
    from dx_jupyter.keyring import Sealer, open_sealed, secret_aad, secret_aad_prefix

    assert secret_aad_prefix(scope, owner_id) + name.encode() == secret_aad(scope, owner_id, name)
    key = os.urandom(32)
    blob = Sealer(key).seal(b'"v"', secret_aad_prefix(scope, owner_id) + name.encode())
    assert open_sealed(key, blob, secret_aad(scope, owner_id, name), "x") == b'"v"'


def test_aad_separates_scope_owner_and_name_unambiguously():
    from dx_jupyter.keyring import secret_aad

    assert secret_aad("package", "ab", "c") != secret_aad("package", "a", "bc")
    assert secret_aad("project", "x", "y") != secret_aad("package", "x", "y")
