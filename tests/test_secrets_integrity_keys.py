"""Invariant 5 for data keys: a broken or moved data key fails naming the secret being read."""
import sqlite3

import pytest

from dx_jupyter.backend import open_backend
from dx_jupyter.errors import IntegrityFailure


@pytest.fixture
def sqlite_backend(tmp_path, master_key):
    """On a SQLite file whatever the `backend` fixture is: the test edits the file itself."""
    b = open_backend(f"sqlite:///{tmp_path}/dx.db", master_key)
    try:
        yield b
    finally:
        b.close()


def test_resolve_through_a_moved_data_key_names_the_secret_and_the_key(sqlite_backend, tmp_path):
    backend = sqlite_backend
    backend.projects.create("proj")
    backend.packages.create("proj", "a")
    backend.packages.create("proj", "b")
    backend.secrets.upload(b'{"A_SECRET": "a"}', "package", "proj", "a")
    backend.secrets.upload(b'{"B_SECRET": "b"}', "package", "proj", "b")
    a_id, b_id = backend.packages.get_id("proj", "a"), backend.packages.get_id("proj", "b")
    con = sqlite3.connect(tmp_path / "dx.db")
    try:
        wrapped = con.execute("SELECT wrapped_key FROM data_keys WHERE owner_id = ?", (a_id,)).fetchone()[0]
        con.execute("UPDATE data_keys SET wrapped_key = ? WHERE owner_id = ?", (wrapped, b_id))
        con.commit()
    finally:
        con.close()
    with pytest.raises(IntegrityFailure) as caught:
        backend.secrets.resolve("B_SECRET", "proj", "b")
    message = str(caught.value)
    assert "secret 'B_SECRET' (package scope)" in message
    assert f"data key of package {b_id}" in message
    assert "failed authentication" in message
    assert backend.secrets.resolve("A_SECRET", "proj", "a") == "a"
