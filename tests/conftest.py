"""Shared pytest fixtures. Each section belongs to the part of the project that uses it."""
import os

import pytest

from dx_jupyter.backend import open_backend
from postgres import pg_database, pg_server  # noqa: F401  (fixtures)


# ----- store / secrets backend (tests/test_store*, test_secrets*, test_keyring*, test_packages_service*) -----
@pytest.fixture
def master_key() -> bytes:
    """A fresh random 32-byte master key."""
    return os.urandom(32)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """The store of one test, on each backend: a SQLite file `tmp_path/dx.db`, or a fresh database
    on the session's throwaway PostgreSQL server (tests/postgres.py).

    A test that must stay on SQLite (it reads or edits the database file itself) says so with
    `@sqlite_only("why")` from tests/postgres.py.
    """
    if request.param == "postgresql":
        return request.getfixturevalue("pg_database")
    return f"sqlite:///{tmp_path}/dx.db"


@pytest.fixture
def backend(db_url, master_key):
    """A real backend on the test's store (`db_url`: SQLite file or PostgreSQL), closed at teardown."""
    b = open_backend(db_url, master_key)
    try:
        yield b
    finally:
        b.close()


# ----- a real Jupyter server with the extension (tests/test_api*, test_executions*, notebooks) -----
pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def dx_data_dir(tmp_path):
    path = tmp_path / "dx-data"
    path.mkdir()
    return path


@pytest.fixture
def dx_config() -> dict:
    """Extra `DXJupyter` traits for one test; override or update it in a test module."""
    return {}


@pytest.fixture
def jp_server_config(dx_data_dir, dx_config, db_url):
    """The server's store follows `db_url`; on SQLite it is the default file, `<data_dir>/dx.db`."""
    server_db = f"sqlite:///{dx_data_dir}/dx.db" if db_url.startswith("sqlite") else db_url
    return {
        "ServerApp": {"jpserver_extensions": {"dx_jupyter": True}},
        "DXJupyter": {"data_dir": str(dx_data_dir), "db_url": server_db, **dx_config},
    }


@pytest.fixture
def dx_core(jp_serverapp):
    """The running extension's core (backend, executions service, executor)."""
    return jp_serverapp.web_app.settings["dx"]


@pytest.fixture
def dx_api(jp_fetch, jp_serverapp):
    """`await dx_api("projects", method="POST", body={...})`: JSON in, (status, JSON) out.

    Errors do not raise: the status and the error body come back for the test to check.
    """
    import json

    from tornado.httpclient import HTTPClientError

    async def call(path, method="GET", body=None, raw=None, headers=None, params=None):
        kwargs = {"method": method, "headers": headers or {}}
        if params:
            kwargs["params"] = params
        if raw is not None:
            kwargs["body"] = raw
        elif body is not None:
            kwargs["body"] = json.dumps(body)
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = b""
            kwargs["allow_nonstandard_methods"] = True
        try:
            resp = await jp_fetch("dx", "api", *path.split("/"), **kwargs)
        except HTTPClientError as err:
            payload = err.response.body if err.response is not None else b""
            return err.code, json.loads(payload) if payload else None
        text = resp.body.decode()
        try:
            return resp.code, json.loads(text) if text else None
        except json.JSONDecodeError:
            return resp.code, text

    return call
