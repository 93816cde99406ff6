"""The SQL store: Alembic migrations agree with the models; concurrent writers. On SQLite and on
PostgreSQL (the `db_url` fixture), except what is about the SQLite file itself."""
import json
import threading

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from dx_jupyter.backend import open_backend
from dx_jupyter.store import Store
from dx_jupyter.store.database import MIGRATIONS_DIR
from dx_jupyter.store.models import Base
from postgres import sql_rows


def _url(tmp_path, name="dx.db"):
    return f"sqlite:///{tmp_path / name}"


# ----- migrations -----
def test_upgrade_on_an_empty_database_creates_every_model_table(db_url):
    store = Store(db_url)
    try:
        store.upgrade()
        with store.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
    finally:
        store.dispose()
    assert set(Base.metadata.tables) <= tables
    assert tables - set(Base.metadata.tables) == {"alembic_version"}


def test_migrated_schema_matches_the_models_exactly(db_url):
    """Alembic autogenerate finds nothing to do: models and migrations agree (types, nullability,
    indexes, unique constraints, foreign keys)."""
    store = Store(db_url)
    try:
        store.upgrade()
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        store.dispose()
    assert diff == []


def test_compare_metadata_does_detect_a_difference(db_url):
    """The comparison above is not vacuous: a dropped index is reported."""
    store = Store(db_url)
    try:
        store.upgrade()
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_executions_status")
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        store.dispose()
    assert any(d[0] == "add_index" and d[1].name == "ix_executions_status" for d in diff)


def test_upgrade_is_idempotent(db_url):
    store = Store(db_url)
    try:
        store.upgrade()
        store.upgrade()
        with store.engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
    finally:
        store.dispose()
    assert version == "0003"


def test_downgrade_to_base_then_upgrade_again(db_url):
    store = Store(db_url)
    try:
        store.upgrade()
        with store.engine.begin() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        with store.engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == {"alembic_version"}
        store.upgrade()
        with store.engine.connect() as conn:
            assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())
    finally:
        store.dispose()


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path):
    store = Store(_url(tmp_path))
    try:
        store.upgrade()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        store.dispose()


def test_a_failed_write_rolls_back_whole(backend, tmp_path):
    from dx_jupyter.store.models import Project

    with pytest.raises(RuntimeError):
        with backend.store.write() as session:
            session.add(Project(name="half"))
            session.flush()
            raise RuntimeError("boom")
    assert backend.projects.list() == []


# ----- concurrency (both backends) -----
N_THREADS = 20


def _run_threads(target, n=N_THREADS):
    barrier = threading.Barrier(n)
    errors: list[str] = []

    def run(i):
        barrier.wait()
        try:
            target(i)
        except BaseException as err:  # noqa: BLE001 - collected and asserted by the caller
            errors.append(f"thread {i}: {err!r}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return errors


def test_concurrent_sets_and_uploads_of_the_same_secret(backend, tmp_path):
    backend.projects.create("proj")
    backend.packages.create("proj", "pkg")
    set_versions: dict[int, int] = {}
    written = set()
    lock = threading.Lock()

    def writer(i):
        value = {"writer": i, "via": "set"}
        with lock:
            written.add(json.dumps(value, sort_keys=True))
        info = backend.secrets.set("SHARED", value, "package", "proj", "pkg")
        with lock:
            set_versions[i] = info.version
        file_value = {"writer": i, "via": "upload"}
        with lock:
            written.add(json.dumps(file_value, sort_keys=True))
        backend.secrets.upload(
            json.dumps({"SHARED": file_value, f"OWN_{i}": i}).encode(), "package", "proj", "pkg"
        )

    errors = _run_threads(writer)
    assert errors == []
    versions = sorted(set_versions.values())
    assert len(set(versions)) == N_THREADS  # every set() saw a distinct version
    assert all(1 <= v <= 2 * N_THREADS for v in versions)
    listed = {s.name: s.version for s in backend.secrets.list("package", "proj", "pkg")}
    assert listed["SHARED"] == 2 * N_THREADS  # 20 sets + 20 uploads, none lost
    assert {n: v for n, v in listed.items() if n != "SHARED"} == {f"OWN_{i}": 1 for i in range(N_THREADS)}
    final = backend.secrets.resolve("SHARED", "proj", "pkg")
    assert json.dumps(final, sort_keys=True) in written
    assert max(versions) < 2 * N_THREADS or final["via"] == "set"


def test_concurrent_first_writes_to_a_fresh_owner_create_one_data_key(backend, tmp_path):
    backend.projects.create("proj")

    def writer(i):
        backend.secrets.upload(json.dumps({f"K{i}": f"v{i}"}).encode(), "project", "proj")

    assert _run_threads(writer) == []
    [(keys,)] = sql_rows(backend.store, "SELECT count(*) FROM data_keys WHERE scope = 'project'")
    assert keys == 1
    for i in range(N_THREADS):
        assert backend.secrets.resolve(f"K{i}", "proj") == f"v{i}"


def test_readers_are_not_blocked_by_writers(backend):
    backend.secrets.set("R", "initial", "platform")

    def worker(i):
        if i % 2:
            for _ in range(10):
                backend.secrets.set("R", f"w{i}", "platform")
        else:
            for _ in range(20):
                assert backend.secrets.resolve("R") is not None

    assert _run_threads(worker) == []
    assert [s.version for s in backend.secrets.list("platform")] == [1 + 10 * (N_THREADS // 2)]


def test_two_backends_on_one_store_write_concurrently(db_url, master_key):
    """Server and CLI processes share the store: separate engines must queue, not fail."""
    url = db_url
    first = open_backend(url, master_key)
    second = open_backend(url, master_key)
    try:
        def writer(i):
            b = first if i % 2 else second
            for j in range(5):
                b.secrets.set("SHARED", [i, j], "platform")

        assert _run_threads(writer, 10) == []
        assert [s.version for s in first.secrets.list("platform")] == [50]
    finally:
        first.close()
        second.close()
