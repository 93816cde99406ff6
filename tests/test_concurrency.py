"""Concurrent writers lose no update, on SQLite and on PostgreSQL (`db_url` runs each test on both).

20 clients set one secret and upload a three-key secrets.json into the same package scope at
the same time, several rounds each, while readers resolve the scope: every set sees a distinct,
per-client strictly increasing version; every version is counted; no reader and no final state
ever shows the keys of one upload mixed with another's. Once through the services from threads,
once over REST against a real server (whose own thread pool and connection pool serve them).
"""
from __future__ import annotations

import asyncio
import json
import threading

import pytest

from dx_jupyter.backend import open_backend

CLIENTS = 20
ROUNDS = 3
KEYS = ("A", "B", "C")


def _tag(client: int, round_: int) -> str:
    return f"client-{client}-round-{round_}"


def _upload(tag: str) -> bytes:
    return json.dumps({key: {"tag": tag, "key": key} for key in KEYS}).encode()


def _consistent(scope: dict) -> str:
    """The one tag all three keys carry; fails on a mix."""
    tags = {scope[key]["tag"] for key in KEYS}
    assert len(tags) == 1, f"a mix of uploads: {tags}"
    return tags.pop()


def _run(target, n: int) -> list[str]:
    barrier = threading.Barrier(n)
    errors: list[str] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            target(i)
        except BaseException as err:  # noqa: BLE001 - reported by the test
            errors.append(f"thread {i}: {type(err).__name__}: {err}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a client hung"
    return errors


@pytest.fixture
def two_backends(db_url, master_key):
    """Two engines on one store, as two server processes (or a server and the CLI) would be."""
    first = open_backend(db_url, master_key)
    second = open_backend(db_url, master_key)
    first.projects.create("proj")
    first.packages.create("proj", "pkg")
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def test_twenty_clients_setting_and_uploading_in_one_scope_lose_nothing(two_backends):
    backends = two_backends
    seen_versions: dict[int, list[int]] = {i: [] for i in range(CLIENTS)}
    reads: list[str] = []
    done = threading.Event()
    lock = threading.Lock()
    pkg_id = backends[0].packages.get_id("proj", "pkg")

    def client(i: int) -> None:
        b = backends[i % 2]
        for r in range(ROUNDS):
            info = b.secrets.set("S", _tag(i, r), "package", "proj", "pkg")
            seen_versions[i].append(info.version)
            b.secrets.upload(_upload(_tag(i, r)), "package", "proj", "pkg")

    reader_errors: list[str] = []

    def reader() -> None:
        try:
            while not done.is_set():
                scope = backends[1].secrets.resolve_scoped(pkg_id)["package"]
                if all(k in scope for k in KEYS):
                    tag = _consistent(scope)
                    with lock:
                        reads.append(tag)
        except BaseException as err:  # noqa: BLE001 - reported by the test
            reader_errors.append(f"reader: {type(err).__name__}: {err}")

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        errors = _run(client, CLIENTS)
    finally:
        done.set()
        for t in readers:
            t.join(timeout=60)
    assert errors == [] and reader_errors == []

    all_versions = [v for versions in seen_versions.values() for v in versions]
    assert len(set(all_versions)) == CLIENTS * ROUNDS  # no two sets saw the same version
    for versions in seen_versions.values():
        assert versions == sorted(versions) and len(set(versions)) == len(versions)  # strictly increasing
    listed = {s.name: s.version for s in backends[0].secrets.list("package", "proj", "pkg")}
    assert listed == {"S": CLIENTS * ROUNDS, **{k: CLIENTS * ROUNDS for k in KEYS}}  # none lost

    written = {_tag(i, r) for i in range(CLIENTS) for r in range(ROUNDS)}
    final = backends[0].secrets.resolve_scoped(pkg_id)["package"]
    assert final["S"] in written
    assert _consistent(final) in written
    assert reads and set(reads) <= written


async def test_twenty_rest_clients_setting_and_uploading_in_one_scope_lose_nothing(dx_api, dx_core):
    assert (await dx_api("projects", "POST", {"name": "proj"}))[0] == 201
    assert (await dx_api("projects/proj/packages", "POST", {"name": "pkg"}))[0] == 201
    base = "projects/proj/packages/pkg/secrets"

    async def client(i: int) -> list[int]:
        versions = []
        for r in range(ROUNDS):
            status, info = await dx_api(f"{base}/S", "PUT", {"value": _tag(i, r)})
            assert status == 200, info
            versions.append(info["version"])
            status, stored = await dx_api(base, "PUT", raw=_upload(_tag(i, r)))
            assert status == 200, stored
            assert sorted(stored["stored"]) == list(KEYS)
        return versions

    results = await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    flat = [v for versions in results for v in versions]
    assert len(set(flat)) == CLIENTS * ROUNDS
    assert all(v == sorted(v) and len(set(v)) == len(v) for v in results)
    status, listing = await dx_api(base)
    assert status == 200
    assert {s["name"]: s["version"] for s in listing["secrets"]} == {
        "S": CLIENTS * ROUNDS, **{k: CLIENTS * ROUNDS for k in KEYS}
    }
    pkg_id = dx_core.backend.packages.get_id("proj", "pkg")
    final = (await asyncio.to_thread(dx_core.backend.secrets.resolve_scoped, pkg_id))["package"]
    written = {_tag(i, r) for i in range(CLIENTS) for r in range(ROUNDS)}
    assert _consistent(final) in written and final["S"] in written



def test_a_read_sees_one_snapshot_while_a_writer_commits(backend):
    """A read of several statements (data keys, then secrets) must not see a commit half-way:
    SQLite's WAL gives a snapshot per transaction; on PostgreSQL readers use REPEATABLE READ."""
    from sqlalchemy import func, select

    from dx_jupyter.store.models import DataKey, Secret

    backend.projects.create("proj")
    with backend.store.read() as session:
        keys_before = session.scalar(select(func.count()).select_from(DataKey))
        writer = threading.Thread(target=backend.secrets.set, args=("X", "v", "project", "proj"))
        writer.start()
        writer.join(timeout=60)
        assert not writer.is_alive()
        assert session.scalar(select(func.count()).select_from(Secret)) == 0
        assert session.scalar(select(func.count()).select_from(DataKey)) == keys_before
    assert backend.secrets.resolve("X", "proj") == "v"


def test_a_delete_waits_for_a_writer_holding_the_owners_lock(backend):
    """set/upload read the owner's rows under its data-key row lock, then update them: a delete
    must queue behind that lock, or the writer's update would hit a row already gone."""
    from sqlalchemy import select

    from dx_jupyter.store.models import DataKey

    backend.projects.create("proj")
    backend.secrets.set("X", "v1", "project", "proj")
    deleted = threading.Event()

    def delete() -> None:
        backend.secrets.delete("X", "project", "proj")
        deleted.set()

    with backend.store.write() as session:  # a writer mid-way: holds the owner's lock
        session.execute(select(DataKey.id).where(DataKey.scope == "project").with_for_update()).all()
        worker = threading.Thread(target=delete)
        worker.start()
        assert not deleted.wait(1.0), "the delete did not wait for the owner's writer"
    worker.join(timeout=60)
    assert deleted.is_set()
    assert backend.secrets.list("project", "proj") == []
