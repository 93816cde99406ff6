"""Shared pytest fixtures. Each section belongs to the part of the project that uses it."""
import os

import pytest

from dx_jupyter.backend import open_backend


# ----- store / secrets backend (tests/test_store*, test_secrets*, test_keyring*, test_packages_service*) -----
@pytest.fixture
def master_key() -> bytes:
    """A fresh random 32-byte master key."""
    return os.urandom(32)


@pytest.fixture
def backend(tmp_path, master_key):
    """A real backend on a SQLite file `tmp_path/dx.db`, closed at teardown."""
    b = open_backend(f"sqlite:///{tmp_path}/dx.db", master_key)
    try:
        yield b
    finally:
        b.close()
