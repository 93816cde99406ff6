"""Benchmark of the secret store (issue 2). Plain script: `python bench/bench_secrets.py`.

(a) Upload of a 10,000-key secrets.json through SecretsService.upload, against a plain sqlite3
    executemany of as many rows (same columns, blobs of the same size, one transaction, WAL).
    Target: median ratio <= 3x.
(b) Resolve latency, package -> project -> platform, with 1k and with 100k secrets stored over
    many owners. Target: p99(100k) / p99(1k) <= 1.5x.

Options: --repeats N (upload repeats, default 7), --resolves N (default 2000),
--profile (cProfile the service upload and a batch of resolves, print the top entries).
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dx_jupyter.backend import open_backend  # noqa: E402
from dx_jupyter.keyring import NONCE_BYTES  # noqa: E402

UPLOAD_KEYS = 10_000
TAG_BYTES = 16


def secrets_file(n: int, prefix: str = "KEY") -> tuple[bytes, list[int]]:
    """A secrets.json of n string values; returns its bytes and each value's JSON size."""
    values = {f"{prefix}_{i:06d}": f"value-{i}-{os.urandom(12).hex()}" for i in range(n)}
    sizes = [len(json.dumps(v, separators=(",", ":")).encode()) for v in values.values()]
    return json.dumps(values).encode(), sizes


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


# ----- (a) upload vs plain sqlite3 -----
PLAIN_SCHEMA = (
    "CREATE TABLE secrets (id INTEGER PRIMARY KEY, scope TEXT NOT NULL, owner_id TEXT NOT NULL,"
    " name TEXT NOT NULL, ciphertext BLOB NOT NULL, version INTEGER NOT NULL,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL, UNIQUE (scope, owner_id, name))"
)
PLAIN_INSERT = (
    "INSERT INTO secrets (scope, owner_id, name, ciphertext, version, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def bench_upload(workdir: Path, repeats: int) -> dict[str, list[tuple[float, float]]]:
    """Interleaved repeats (the order alternates) so both paths see the same machine load.
    Returns (wall, cpu) seconds per repeat for each path."""
    backend = open_backend(f"sqlite:///{workdir}/service.db", os.urandom(32))
    con = sqlite3.connect(workdir / "plain.db", isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")  # what the store sets too
    con.execute(PLAIN_SCHEMA)
    out: dict[str, list[tuple[float, float]]] = {"service": [], "plain": []}

    def service(r: int, data: bytes) -> None:
        backend.projects.create(f"proj{r}")
        w0, c0 = time.perf_counter(), time.process_time()
        result = backend.secrets.upload(data, "project", f"proj{r}")
        out["service"].append((time.perf_counter() - w0, time.process_time() - c0))
        assert len(result.created) == UPLOAD_KEYS

    def plain(sizes: list[int]) -> None:
        owner = os.urandom(16).hex()
        now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
        rows = [
            ("project", owner, f"KEY_{i:06d}", os.urandom(NONCE_BYTES + size + TAG_BYTES), 1, now, now)
            for i, size in enumerate(sizes)
        ]
        w0, c0 = time.perf_counter(), time.process_time()
        con.execute("BEGIN IMMEDIATE")
        con.executemany(PLAIN_INSERT, rows)
        con.execute("COMMIT")
        out["plain"].append((time.perf_counter() - w0, time.process_time() - c0))

    try:
        for r in range(-1, repeats):  # r = -1: warm-up, not recorded
            data, sizes = secrets_file(UPLOAD_KEYS)
            if r % 2:
                service(r + 1, data)
                plain(sizes)
            else:
                plain(sizes)
                service(r + 1, data)
            if r == -1:
                out["service"].clear()
                out["plain"].clear()
    finally:
        con.close()
        backend.close()
    return out


# ----- (b) resolve latency -----
N_PROJECTS = 10
PACKAGES_PER_PROJECT = 5


def populate(backend, total: int) -> list[tuple[str, str, str]]:
    """Spread `total` secrets over the platform, 10 projects and 50 packages; return
    (project, package, name) lookups that hit each scope, plus misses."""
    owners = [("platform", None, None)]
    for p in range(N_PROJECTS):
        backend.projects.create(f"proj{p}")
        owners.append(("project", f"proj{p}", None))
        for k in range(PACKAGES_PER_PROJECT):
            backend.packages.create(f"proj{p}", f"pkg{k}")
            owners.append(("package", f"proj{p}", f"pkg{k}"))
    per_owner = total // len(owners)
    names_of: dict[tuple, list[str]] = {}
    for idx, (scope, project, package) in enumerate(owners):
        count = per_owner + (1 if idx < total % len(owners) else 0)
        # Names overlap across scopes (S_000000 exists in many owners) so the chain matters.
        values = {f"S_{i:06d}": f"{scope}-{idx}-{i}-{os.urandom(8).hex()}" for i in range(count)}
        backend.secrets.upload(json.dumps(values).encode(), scope, project, package)
        names_of[(scope, project, package)] = list(values)
    rng = random.Random(42)
    lookups = []
    packages = [o for o in owners if o[0] == "package"]
    for _ in range(4000):
        _, project, package = rng.choice(packages)
        which = rng.random()
        if which < 0.5:
            name = rng.choice(names_of[("package", project, package)])
        elif which < 0.75:
            name = rng.choice(names_of[("project", project, None)])
        elif which < 0.95:
            name = rng.choice(names_of[("platform", None, None)])
        else:
            name = f"MISSING_{rng.randrange(10**6)}"
        lookups.append((project, package, name))
    return lookups


def bench_resolve(workdir: Path, sizes: tuple[int, ...], n_resolves: int) -> tuple[dict, dict, dict]:
    """Populate one store per size, then time resolves alternating between the stores, so that
    a burst of load from elsewhere on the machine hits every size alike."""
    backends, chosen, samples = {}, {}, {}
    rng = random.Random(7)
    for total in sizes:
        backend = open_backend(f"sqlite:///{workdir}/resolve{total}.db", os.urandom(32))
        lookups = populate(backend, total)
        for project, package, name in lookups[:200]:  # warm the pool and caches
            backend.secrets.resolve(name, project, package)
        backends[total] = backend
        chosen[total] = [rng.choice(lookups) for _ in range(n_resolves)]
        samples[total] = []
    for i in range(n_resolves):
        for total in sizes:
            project, package, name = chosen[total][i]
            t0 = time.perf_counter()
            backends[total].secrets.resolve(name, project, package)
            samples[total].append(time.perf_counter() - t0)
    return samples, backends, chosen


def profile(call, label: str, top: int = 25) -> None:
    prof = cProfile.Profile()
    prof.enable()
    call()
    prof.disable()
    print(f"\n--- cProfile: {label} (top {top} by cumulative time) ---")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(top)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--resolves", type=int, default=2000)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dx-bench-") as tmp:
        work = Path(tmp)
        upload = bench_upload(work, args.repeats)
        wall = {k: [w for w, _ in v] for k, v in upload.items()}
        cpu = {k: [c for _, c in v] for k, v in upload.items()}
        ratio = statistics.median(wall["service"]) / statistics.median(wall["plain"])
        cpu_ratio = statistics.median(cpu["service"]) / statistics.median(cpu["plain"])

        samples, backends, chosen = bench_resolve(work, (1_000, 100_000), args.resolves)
        small, large = samples[1_000], samples[100_000]
        b2, chosen2 = backends[100_000], chosen[100_000]
        if args.profile:
            b = open_backend(f"sqlite:///{work}/profile.db", os.urandom(32))
            b.projects.create("p")
            data, _ = secrets_file(UPLOAD_KEYS)
            profile(lambda: b.secrets.upload(data, "project", "p"), "SecretsService.upload, 10k keys")
            b.close()
            profile(lambda: [b2.secrets.resolve(n, p, k) for p, k, n in chosen2[:500]], "500 resolves, 100k stored")
        for b in backends.values():
            b.close()

    p99_ratio = pct(large, 99) / pct(small, 99)
    ms = 1000.0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print()
    print(f"dx_jupyter secret store benchmark - {datetime.now().isoformat(timespec='seconds')}, "
          f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} cpu, "
          f"load average at end {load:.2f}")
    print()
    print(f"(a) upload of a {UPLOAD_KEYS:,}-key secrets.json, {args.repeats} interleaved repeats")
    print(f"    {'path':<44}{'median':>10}{'min':>10}{'max':>10}{'cpu med':>10}")
    for label, key in (("SecretsService.upload (parse+encrypt+store)", "service"),
                       ("plain sqlite3 executemany, 1 txn, WAL", "plain")):
        w, c = wall[key], cpu[key]
        print(f"    {label:<44}{statistics.median(w)*ms:>8.1f}ms{min(w)*ms:>8.1f}ms{max(w)*ms:>8.1f}ms"
              f"{statistics.median(c)*ms:>8.1f}ms")
    print(f"    ratio service/plain (wall, perf_counter): {ratio:.2f}x  "
          f"(target <= 3x: {'OK' if ratio <= 3 else 'MISSED'});  cpu time ratio {cpu_ratio:.2f}x")
    print()
    print(f"(b) resolve latency, package->project->platform, {args.resolves:,} random lookups per size,"
          " sizes interleaved")
    print(f"    {'secrets stored':<20}{'p50':>10}{'p90':>10}{'p99':>10}{'max':>10}")
    for label, smp in (("1,000", small), ("100,000", large)):
        print(f"    {label:<20}{pct(smp, 50)*ms:>8.3f}ms{pct(smp, 90)*ms:>8.3f}ms"
              f"{pct(smp, 99)*ms:>8.3f}ms{max(smp)*ms:>8.3f}ms")
    print(f"    p99 ratio 100k/1k: {p99_ratio:.2f}x  (target <= 1.5x: {'OK' if p99_ratio <= 1.5 else 'MISSED'})")
    print(f"\ntotal run time {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
