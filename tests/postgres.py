"""A throwaway PostgreSQL server for the test session, and a fresh database per test.

`pg_server` (session): finds the PostgreSQL binaries, runs `initdb` and `pg_ctl start` into a
temporary folder on a free port of 127.0.0.1 (as the `postgres` user when the tests run as
root, since PostgreSQL refuses to run as root), yields the admin URL, and stops the server and
removes the folder at the end of the session.

`pg_database` (function): `CREATE DATABASE ... TEMPLATE template0` for one test, its URL, and
`DROP DATABASE ... WITH (FORCE)` afterwards.

Missing binaries FAIL the PostgreSQL tests with a clear message; they are never skipped
(`scripts/test` installs the `postgresql` Debian package). `DX_TEST_POSTGRES_URL` (an admin URL
such as `postgresql+psycopg://postgres@127.0.0.1:5432/postgres`) uses an existing server instead.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator, Optional

import pytest

PG_USER = "postgres"
EXTERNAL_URL_ENV = "DX_TEST_POSTGRES_URL"
BIN_ENV = "DX_TEST_POSTGRES_BIN"


def find_pg_bin() -> Optional[Path]:
    """The newest PostgreSQL `bin` folder holding initdb and pg_ctl, or None."""
    explicit = os.environ.get(BIN_ENV)
    candidates = [explicit] if explicit else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One `postgres` process in its own folder; `start()`, `admin_url`, `stop()`."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.as_root = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="dx-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = 0
        if self.as_root:
            try:
                entry = pwd.getpwnam(PG_USER)
            except KeyError:
                raise RuntimeError(
                    f"the tests run as root and PostgreSQL refuses root, but there is no "
                    f"{PG_USER!r} user to run it as (install the postgresql package)"
                ) from None
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
            self._uid, self._gid = entry.pw_uid, entry.pw_gid

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs = {}
        if self.as_root:
            kwargs = {"user": self._uid, "group": self._gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "HOME": str(self.folder)}
        done = subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]], cwd=self.folder, env=env,
            capture_output=True, text=True, timeout=120, **kwargs,
        )
        if check and done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{args[0]} failed with exit code {done.returncode}:\n{done.stdout}{done.stderr}{log}"
            )
        return done

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", PG_USER, "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        options = (
            f"-c listen_addresses=127.0.0.1 -k {self.folder} -c max_connections=300 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        for attempt in range(5):  # the free port may be taken between the probe and the start
            self.port = free_port()
            done = self._run("pg_ctl", "-D", str(self.data), "-o", f"-p {self.port} {options}",
                             "-l", str(self.log), "-w", "-t", "60", "start", check=False)
            if done.returncode == 0:
                return
            if attempt == 4:
                raise RuntimeError(
                    f"pg_ctl start failed: {done.stdout}{done.stderr}"
                    f"{self.log.read_text(errors='replace')[-2000:] if self.log.exists() else ''}"
                )
            time.sleep(0.2)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "60", "stop",
                          check=False)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _libpq(url: str) -> str:
    """psycopg's own form of a SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The admin URL of the session's throwaway PostgreSQL server."""
    external = os.environ.get(EXTERNAL_URL_ENV)
    if external:
        yield external
        return
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.fail(
            "PostgreSQL binaries (initdb, pg_ctl) were not found in /usr/lib/postgresql/*/bin or on "
            f"PATH: install the Debian package `postgresql` (scripts/test does), set {BIN_ENV} to "
            f"their folder, or set {EXTERNAL_URL_ENV} to an admin URL of a running server. "
            "The PostgreSQL half of the suite is not skipped.",
            pytrace=False,
        )
    server = PostgresServer(bin_dir)
    try:
        server.start()
    except Exception as err:
        server.stop()
        pytest.fail(f"could not start a throwaway PostgreSQL server: {err}", pytrace=False)
    try:
        yield server.admin_url
    finally:
        server.stop()


@pytest.fixture
def pg_database(pg_server: str) -> Iterator[str]:
    """A fresh, empty database for one test (from template0), dropped afterwards."""
    import psycopg

    name = f"dx_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_libpq(pg_server), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
    base = pg_server.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(_libpq(pg_server), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_only(reason: str) -> pytest.MarkDecorator:
    """Run a test on the SQLite store only (`db_url` not parametrized over PostgreSQL).

    `reason` says why, for the reader: e.g. the test reads or edits the database file itself.
    """
    assert reason, "say why the test is SQLite-only"
    return pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def sql_rows(store, query: str, **params) -> list[tuple]:
    """Rows of a raw SQL query on a Store's database (either backend), as plain tuples."""
    from sqlalchemy import text

    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(query), params)]
