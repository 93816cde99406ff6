"""Engine, sessions and schema upgrades for the store."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_WRITE = "dx_write"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE for writers.

    pysqlite's own transaction handling defers BEGIN and upgrades read locks to write locks
    late, which makes concurrent writers fail with "database is locked" instead of waiting.
    Taking the write lock at BEGIN lets busy_timeout queue them.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@dataclass(frozen=True)
class PoolSettings:
    """Connection pool of a server database (PostgreSQL); SQLite ignores it.

    `size` connections stay open, up to `max_overflow` more are opened under load, a caller
    waits at most `timeout` seconds for one; connections are checked before use (`pre_ping`,
    so a restarted database or a dropped idle connection costs a reconnect, not an error) and
    replaced after `recycle` seconds. Size it to the threads that use the store at once: the
    server's `db_threads` plus the executor's reporting threads.
    """

    size: int = 10
    max_overflow: int = 10
    timeout: float = 30.0
    recycle: int = 1800
    pre_ping: bool = True
    connect_timeout: int = 10


def _missing_driver(url: str, err: ModuleNotFoundError) -> RuntimeError:
    hint = " (pip install 'dx-jupyter[postgresql]')" if url.startswith("postgresql") else ""
    return RuntimeError(f"the database driver for {make_url(url).drivername} is not installed{hint}: {err}")


class Store:
    """Owns the engine; hands out one session per operation, committed or rolled back whole."""

    def __init__(
        self, url: str, *, echo: bool = False, pool: PoolSettings = PoolSettings(),
    ) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(
                pool_size=pool.size,
                max_overflow=pool.max_overflow,
                pool_timeout=pool.timeout,
                pool_recycle=pool.recycle,
                pool_pre_ping=pool.pre_ping,
                pool_use_lifo=True,  # idle extra connections age out instead of all staying warm
            )
            if url.startswith("postgresql"):
                kwargs["connect_args"] = {
                    "connect_timeout": pool.connect_timeout,
                    "application_name": "dx_jupyter",
                }
        try:
            self.engine = create_engine(url, **kwargs)
        except ModuleNotFoundError as err:
            raise _missing_driver(url, err) from None
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        # SQLite readers see one snapshot per transaction (WAL). On a server database the
        # default READ COMMITTED takes a new snapshot per statement, so a read of several
        # statements (data keys, then secrets) could see a writer's commit half-way: readers
        # use REPEATABLE READ, a snapshot per transaction, which never fails a read-only one.
        # Writers stay READ COMMITTED and serialize on row locks (SELECT ... FOR UPDATE).
        reader = self.engine if self.is_sqlite else self.engine.execution_options(
            isolation_level="REPEATABLE READ"
        )
        self._reader = sessionmaker(reader, expire_on_commit=False)
        self._writer = sessionmaker(
            self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False
        )

    def upgrade(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        with self.engine.begin() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        with self._writer() as session:
            with session.begin():
                yield session

    def dispose(self) -> None:
        self.engine.dispose()
