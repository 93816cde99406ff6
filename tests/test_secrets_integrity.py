"""Invariant 5: a modified or moved ciphertext fails loudly, naming the secret, never wrong data.

Rows are edited with the raw sqlite3 module, as an attacker with the database file would.
"""
import json
import sqlite3

import pytest

from dx_jupyter.errors import IntegrityFailure
from dx_jupyter.keyring import NONCE_BYTES
from dx_jupyter.services.keys import rotate_data_key
from dx_jupyter.services.owners import PLATFORM_OWNER
from postgres import sqlite_only

# The attack is on the SQLite file itself (edited with sqlite3), so these run on SQLite only; the
# checks they exercise (AES-GCM with associated data) do not depend on the SQL backend.
pytestmark = sqlite_only("rows are edited in the database file with the raw sqlite3 module")


@pytest.fixture
def db(tmp_path):
    return tmp_path / "dx.db"


@pytest.fixture
def ids(backend):
    backend.projects.create("proj")
    backend.packages.create("proj", "pkg")
    backend.packages.create("proj", "other")
    backend.secrets.upload(b'{"DB_NAME": "test_db", "DB_PASS": "supersecretpas$"}', "package", "proj", "pkg")
    backend.secrets.upload(b'{"DB_PASS": "other-pass", "API_KEY": "other-key"}', "package", "proj", "other")
    backend.secrets.upload(b'{"PLAT": "platform-value", "DB_PASS": "platform-pass"}', "platform")
    return {
        "pkg": backend.packages.get_id("proj", "pkg"),
        "other": backend.packages.get_id("proj", "other"),
    }


def _sql(db, query, *params):
    con = sqlite3.connect(db)
    try:
        rows = con.execute(query, params).fetchall()
        con.commit()
        return rows
    finally:
        con.close()


def _ciphertext(db, owner_id, name) -> bytes:
    return _sql(db, "SELECT ciphertext FROM secrets WHERE owner_id = ? AND name = ?", owner_id, name)[0][0]


def _put_ciphertext(db, owner_id, name, blob: bytes) -> None:
    _sql(db, "UPDATE secrets SET ciphertext = ? WHERE owner_id = ? AND name = ?", blob, owner_id, name)


def _flip(blob: bytes, index: int) -> bytes:
    b = bytearray(blob)
    b[index] ^= 0x01
    return bytes(b)


@pytest.mark.parametrize("index", [0, NONCE_BYTES - 1, NONCE_BYTES, NONCE_BYTES + 5, -16, -1],
                         ids=["nonce-first", "nonce-last", "ct-first", "ct-middle", "tag-first", "tag-last"])
def test_one_flipped_byte_fails_naming_the_secret(backend, ids, db, index):
    _put_ciphertext(db, ids["pkg"], "DB_PASS", _flip(_ciphertext(db, ids["pkg"], "DB_PASS"), index))
    with pytest.raises(IntegrityFailure, match="secret 'DB_PASS'.*failed authentication"):
        backend.secrets.resolve("DB_PASS", "proj", "pkg")


def test_flipped_byte_fails_resolve_scoped_and_resolve_chain_too(backend, ids, db):
    _put_ciphertext(db, ids["pkg"], "DB_PASS", _flip(_ciphertext(db, ids["pkg"], "DB_PASS"), 20))
    with pytest.raises(IntegrityFailure, match="secret 'DB_PASS'"):
        backend.secrets.resolve_scoped(ids["pkg"])
    with pytest.raises(IntegrityFailure, match="secret 'DB_PASS'"):
        backend.secrets.resolve_chain(ids["pkg"])


def test_tampering_does_not_affect_other_secrets(backend, ids, db):
    _put_ciphertext(db, ids["pkg"], "DB_PASS", _flip(_ciphertext(db, ids["pkg"], "DB_PASS"), 20))
    assert backend.secrets.resolve("DB_NAME", "proj", "pkg") == "test_db"
    assert [s.name for s in backend.secrets.list("package", "proj", "pkg")] == ["DB_NAME", "DB_PASS"]


def test_truncated_ciphertext_fails_naming_the_secret(backend, ids, db):
    _put_ciphertext(db, ids["pkg"], "DB_PASS", _ciphertext(db, ids["pkg"], "DB_PASS")[:20])
    with pytest.raises(IntegrityFailure, match="secret 'DB_PASS'.*truncated"):
        backend.secrets.resolve("DB_PASS", "proj", "pkg")


def test_empty_ciphertext_fails_naming_the_secret(backend, ids, db):
    _put_ciphertext(db, ids["pkg"], "DB_PASS", b"")
    with pytest.raises(IntegrityFailure, match="secret 'DB_PASS'"):
        backend.secrets.resolve("DB_PASS", "proj", "pkg")


def test_ciphertext_copied_to_another_secret_of_the_same_owner_fails_naming_it(backend, ids, db):
    _put_ciphertext(db, ids["pkg"], "DB_NAME", _ciphertext(db, ids["pkg"], "DB_PASS"))
    with pytest.raises(IntegrityFailure, match="secret 'DB_NAME'.*failed authentication"):
        backend.secrets.resolve("DB_NAME", "proj", "pkg")
    assert backend.secrets.resolve("DB_PASS", "proj", "pkg") == "supersecretpas$"


def test_two_swapped_ciphertexts_both_fail(backend, ids, db):
    a, b = _ciphertext(db, ids["pkg"], "DB_NAME"), _ciphertext(db, ids["pkg"], "DB_PASS")
    _put_ciphertext(db, ids["pkg"], "DB_NAME", b)
    _put_ciphertext(db, ids["pkg"], "DB_PASS", a)
    for name in ("DB_NAME", "DB_PASS"):
        with pytest.raises(IntegrityFailure, match=f"secret '{name}'"):
            backend.secrets.resolve(name, "proj", "pkg")


def test_ciphertext_copied_to_same_name_of_another_package_fails_naming_it(backend, ids, db):
    _put_ciphertext(db, ids["other"], "DB_PASS", _ciphertext(db, ids["pkg"], "DB_PASS"))
    with pytest.raises(IntegrityFailure, match="secret 'DB_PASS' \\(package scope\\)"):
        backend.secrets.resolve("DB_PASS", "proj", "other")


def test_ciphertext_copied_to_the_platform_scope_fails_naming_it(backend, ids, db):
    _put_ciphertext(db, "platform", "DB_PASS", _ciphertext(db, ids["pkg"], "DB_PASS"))
    with pytest.raises(IntegrityFailure, match="secret 'DB_PASS' \\(platform scope\\)"):
        backend.secrets.resolve("DB_PASS")


def test_row_moved_to_another_owner_fails_naming_it(backend, ids, db):
    """The whole row re-pointed at another owner (owner_id edited), not just its ciphertext."""
    _sql(db, "UPDATE secrets SET owner_id = ? WHERE owner_id = ? AND name = 'DB_NAME'", ids["other"], ids["pkg"])
    with pytest.raises(IntegrityFailure, match="secret 'DB_NAME'"):
        backend.secrets.resolve("DB_NAME", "proj", "other")


def test_row_renamed_fails_naming_the_new_name(backend, ids, db):
    _sql(db, "UPDATE secrets SET name = 'RENAMED' WHERE owner_id = ? AND name = 'DB_PASS'", ids["pkg"])
    with pytest.raises(IntegrityFailure, match="secret 'RENAMED'"):
        backend.secrets.resolve("RENAMED", "proj", "pkg")


def test_data_key_copied_to_another_owner_fails(backend, ids, db):
    wrapped = _sql(db, "SELECT wrapped_key FROM data_keys WHERE owner_id = ?", ids["pkg"])[0][0]
    _sql(db, "UPDATE data_keys SET wrapped_key = ? WHERE owner_id = ?", wrapped, ids["other"])
    with pytest.raises(IntegrityFailure, match=f"data key of package {ids['other']}.*failed authentication"):
        backend.secrets.resolve("API_KEY", "proj", "other")
    with pytest.raises(IntegrityFailure, match="data key"):
        backend.secrets.resolve_scoped(ids["other"])
    # The owner whose key was copied is unaffected.
    assert backend.secrets.resolve("DB_PASS", "proj", "pkg") == "supersecretpas$"


def test_flipped_byte_in_a_wrapped_data_key_fails(backend, ids, db):
    wrapped = _sql(db, "SELECT wrapped_key FROM data_keys WHERE owner_id = 'platform'")[0][0]
    _sql(db, "UPDATE data_keys SET wrapped_key = ? WHERE owner_id = 'platform'", _flip(wrapped, 30))
    with pytest.raises(IntegrityFailure, match="data key of platform"):
        backend.secrets.resolve("PLAT")


def test_data_key_rotation_refuses_a_tampered_value_and_changes_nothing(backend, ids, db):
    _put_ciphertext(db, "platform", "PLAT", _flip(_ciphertext(db, "platform", "PLAT"), 20))
    before = _sql(db, "SELECT name, ciphertext, version FROM secrets ORDER BY id")
    keys_before = _sql(db, "SELECT * FROM data_keys ORDER BY id")
    with pytest.raises(IntegrityFailure, match="secret 'PLAT'"):
        rotate_data_key(backend.store, backend.keyring, PLATFORM_OWNER)
    assert _sql(db, "SELECT name, ciphertext, version FROM secrets ORDER BY id") == before
    assert _sql(db, "SELECT * FROM data_keys ORDER BY id") == keys_before


def test_writing_over_a_tampered_secret_heals_it(backend, ids, db):
    _put_ciphertext(db, ids["pkg"], "DB_PASS", _flip(_ciphertext(db, ids["pkg"], "DB_PASS"), 20))
    backend.secrets.set("DB_PASS", "new-pass", "package", "proj", "pkg")
    assert backend.secrets.resolve("DB_PASS", "proj", "pkg") == "new-pass"


def test_nonces_never_repeat(backend, ids, db):
    """Fresh 96-bit nonces for every encryption: bulk uploads, re-sets of the same value,
    data-key rotation re-encryptions, and the wrapping of data keys."""
    nonces: list[bytes] = []
    values = {f"K{i}": "same-value" for i in range(1500)}
    backend.secrets.upload(json.dumps(values).encode(), "project", "proj")
    nonces += [r[0][:NONCE_BYTES] for r in _sql(db, "SELECT ciphertext FROM secrets")]
    for _ in range(200):
        backend.secrets.set("RESET", "same-value", "platform")
        nonces.append(_ciphertext(db, "platform", "RESET")[:NONCE_BYTES])
    for _ in range(3):
        backend.secrets.upload(json.dumps(values).encode(), "project", "proj")
        nonces += [r[0][:NONCE_BYTES] for r in _sql(db, "SELECT ciphertext FROM secrets WHERE scope = 'project'")]
    for _ in range(5):
        rotate_data_key(backend.store, backend.keyring, PLATFORM_OWNER)
        nonces += [r[0][:NONCE_BYTES] for r in _sql(db, "SELECT ciphertext FROM secrets WHERE owner_id = 'platform'")]
        nonces += [r[0][:NONCE_BYTES] for r in _sql(db, "SELECT wrapped_key FROM data_keys WHERE owner_id = 'platform'")]
    assert len(nonces) > 6000
    assert len(set(nonces)) == len(nonces)


def test_equal_values_give_different_ciphertexts(backend, ids, db):
    backend.secrets.upload(b'{"A": "same", "B": "same"}', "platform")
    a, b = _ciphertext(db, "platform", "A"), _ciphertext(db, "platform", "B")
    assert a != b
    backend.secrets.set("A", "same", "platform")
    assert _ciphertext(db, "platform", "A") != a
