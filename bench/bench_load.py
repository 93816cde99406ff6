"""Load test (issue 6). Plain script: `python bench/bench_load.py`.

For each executor (local, Dask) and each store (SQLite; PostgreSQL with --stores):
- a real `jupyter server` subprocess with the extension on a free 127.0.0.1 port (temporary home),
  for Dask also a `dask scheduler` and --dask-workers `dask worker` processes on 127.0.0.1
  (tests/dask_support.py: allowed-failures 0, no dashboard, stopped by pid), for PostgreSQL a
  throwaway server (tests/postgres.py);
- --runs (default 200) executions of a one-step package that reads two secrets are POSTed all at
  once (one concurrent request each), while --readers (default 50) clients read secrets over
  REST without pause (the package's, the project's and the platform's secret lists, in turn)
  until every execution is final;
- it counts failed requests (anything but 2xx, or no answer) and executions that did not end
  `completed` or did not end within --timeout, and prints throughput and latency percentiles.

Latency of a run is the server's own `finished_at - created_at` (queue wait included), so polling
does not blur it; run throughput is runs / (last finished_at - first created_at). Request
latencies are client wall times. Everything stays on loopback, and it is bounded: at most
--max-runs runs and --timeout seconds per scenario (then it fails).

    python bench/bench_load.py                            # local + Dask on SQLite, ~1-2 min
    python bench/bench_load.py --stores sqlite,postgresql  # also on PostgreSQL
    python bench/bench_load.py --record                   # also rewrite its section of bench/README.md

Exit status 1 if any request failed or any execution did not complete.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest  # noqa: E402

from dask_support import DaskCluster  # noqa: E402
from postgres import PostgresServer, find_pg_bin  # noqa: E402

OTHER_EXTENSIONS = ("jupyterlab", "jupyter_lsp", "notebook_shim", "jupyter_server_terminals", "nbclassic", "notebook")
FINAL = ("completed", "failed", "cancelled")
STEP = (
    "from ferris_ef import get_secret\n"
    "name, password = get_secret('DB_NAME'), get_secret('DB_PASS')\n"
    "print(f'DB NAME: {name}')\nprint(f'DB PASS: {password}')\n"
)
SECRETS = {"DB_NAME": "test_db", "DB_PASS": "supersecretpas$"}
README = REPO / "bench" / "README.md"
BEGIN, END = "<!-- bench_load:begin -->", "<!-- bench_load:end -->"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pct(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Server:
    """`python -m jupyter_server` with only dx_jupyter, on 127.0.0.1, in its own temporary home."""

    def __init__(self, root: Path, db_url: str, executor: dict[str, Any]) -> None:
        self.root, self.token, self.port = root, uuid.uuid4().hex, free_port()
        config = root / "config"
        config.mkdir(parents=True)
        (root / "notebooks").mkdir()
        self.base = f"http://127.0.0.1:{self.port}/dx/api"
        dx: dict[str, Any] = {"data_dir": str(root / "dx-data"), "api_url": self.base}
        if db_url:
            dx["db_url"] = db_url
        settings = {
            "ServerApp": {"jpserver_extensions": {"dx_jupyter": True, **{e: False for e in OTHER_EXTENSIONS}},
                          "ip": "127.0.0.1", "port": self.port, "port_retries": 0, "open_browser": False,
                          "allow_root": True, "root_dir": str(root / "notebooks"), "log_level": "WARN"},
            "IdentityProvider": {"token": self.token},
            "DXJupyter": {**dx, **executor.get("DXJupyter", {})},
        }
        settings.update({k: v for k, v in executor.items() if k != "DXJupyter"})
        (config / "jupyter_server_config.json").write_text(json.dumps(settings))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "JPY_"))}
        env.pop("DX_EXECUTOR_KEY", None)
        env.update(HOME=str(root), JUPYTER_CONFIG_DIR=str(config), JUPYTER_DATA_DIR=str(root / "data"),
                   JUPYTER_RUNTIME_DIR=str(root / "runtime"),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")])),
                   DX_MASTER_KEY=base64.b64encode(os.urandom(32)).decode())
        self.log = open(root / "server.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "jupyter_server"], env=env, cwd=root,
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}", "Content-Type": "application/json"}

    async def wait_ready(self, client: AsyncHTTPClient, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"jupyter server exited:\n{(self.root / 'server.log').read_text()[-3000:]}")
            try:
                resp = await client.fetch(f"{self.base}/projects", headers=self.headers(), request_timeout=5)
                if resp.code == 200:
                    return
            except (OSError, HTTPClientError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit("jupyter server did not answer in time")
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


class Recorder:
    """Client-side request outcomes and latencies, per kind of request."""

    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = {}
        self.failures: dict[str, list[str]] = {}

    async def call(self, client: AsyncHTTPClient, kind: str, url: str, headers: dict, method: str = "GET",
                   body: Optional[bytes] = None) -> Optional[Any]:
        t0 = time.perf_counter()
        try:
            resp = await client.fetch(HTTPRequest(url, method=method, headers=headers, body=body,
                                                  request_timeout=120, connect_timeout=30))
        except Exception as err:  # noqa: BLE001 - every failure is counted and shown
            code = getattr(err, "code", None)
            self.failures.setdefault(kind, []).append(f"{code or type(err).__name__}: {err}"[:200])
            return None
        self.latency.setdefault(kind, []).append(time.perf_counter() - t0)
        return json.loads(resp.body) if resp.body else {}


async def scenario(name: str, server: Server, runs: int, readers: int, timeout: float) -> dict[str, Any]:
    client = AsyncHTTPClient(force_instance=True, max_clients=runs + readers + 20)
    rec = Recorder()
    h = server.headers()
    api = server.base
    try:
        await server.wait_ready(client)
        for method, path, body in (
            ("POST", "projects", {"name": "load"}),
            ("POST", "projects/load/packages", {"name": "load", "scripts": [{"name": "step.py", "content": STEP}]}),
            ("PUT", "projects/load/packages/load/secrets", SECRETS),
            ("PUT", "projects/load/secrets", {"PROJECT_KEY": "project-value"}),
            ("PUT", "secrets/platform", {"PLATFORM_KEY": "platform-value"}),
        ):
            if await rec.call(client, "setup", f"{api}/{path}", h, method, json.dumps(body).encode()) is None:
                raise SystemExit(f"{name}: setup {method} {path} failed: {rec.failures}")

        done = asyncio.Event()
        lists = [f"{api}/projects/load/packages/load/secrets", f"{api}/projects/load/secrets", f"{api}/secrets/platform"]

        async def reader(i: int) -> None:
            n = i
            while not done.is_set():
                await rec.call(client, "secret list", lists[n % len(lists)], h)
                n += 1

        t0 = time.time()
        reader_tasks = [asyncio.create_task(reader(i)) for i in range(readers)]
        created = await asyncio.gather(*(
            rec.call(client, "POST execution", f"{api}/projects/load/packages/load/executions", h, "POST", b"")
            for _ in range(runs)
        ))
        ids = {c["id"] for c in created if c}
        final: dict[str, dict] = {}
        deadline = time.monotonic() + timeout
        while len(final) < len(ids) and time.monotonic() < deadline:
            page = await rec.call(client, "GET executions", f"{api}/projects/load/packages/load/executions?limit=500", h)
            for e in (page or {}).get("executions", []):
                if e["id"] in ids and e["status"] in FINAL:
                    final[e["id"]] = e
            await asyncio.sleep(0.1)
        done.set()
        await asyncio.gather(*reader_tasks)
        wall = time.time() - t0
        checked = await rec.call(client, "result", f"{api}/executions/{next(iter(final))}/steps/1/result", h) if final else None
    finally:
        client.close()

    statuses: dict[str, int] = {}
    for e in final.values():
        statuses[e["status"]] = statuses.get(e["status"], 0) + 1
    run_latency = [parse_time(e["finished_at"]) - parse_time(e["created_at"]) for e in final.values()]
    first = min((parse_time(e["created_at"]) for e in final.values()), default=t0)
    last = max((parse_time(e["finished_at"]) for e in final.values()), default=t0)
    reads = rec.latency.get("secret list", [])
    failed_requests = sum(len(v) for v in rec.failures.values())
    return {
        "name": name,
        "runs": runs,
        "readers": readers,
        "wall_s": wall,
        "statuses": statuses,
        "not_final": len(ids) - len(final),
        "posted": len(ids),
        "failed_requests": failed_requests,
        "failures": {k: v[:3] for k, v in rec.failures.items()},
        "runs_per_s": len(final) / (last - first) if last > first else float("nan"),
        "run_p50_s": pct(run_latency, 50),
        "run_p99_s": pct(run_latency, 99),
        "post_p50_ms": pct(rec.latency.get("POST execution", []), 50) * 1000,
        "post_p99_ms": pct(rec.latency.get("POST execution", []), 99) * 1000,
        "reads": len(reads),
        "reads_per_s": len(reads) / wall,
        "read_p50_ms": pct(reads, 50) * 1000,
        "read_p99_ms": pct(reads, 99) * 1000,
        "requests": sum(len(v) for v in rec.latency.values()) + failed_requests,
        "result_ok": bool(checked and checked.get("output") == "DB NAME: [REDACTED]\nDB PASS: [REDACTED]\n"),
    }


def ok(r: dict[str, Any]) -> bool:
    return (r["failed_requests"] == 0 and r["not_final"] == 0 and r["posted"] == r["runs"]
            and r["statuses"] == {"completed": r["runs"]} and r["result_ok"])


def table(results: list[dict[str, Any]]) -> str:
    head = ("| scenario | runs completed | failed requests | requests | runs/s | run latency p50 / p99 | "
            "POST p50 / p99 | secret reads | reads/s | read p50 / p99 |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    rows = "".join(
        f"| {r['name']} | {r['statuses'].get('completed', 0)}/{r['runs']} | {r['failed_requests']} | "
        f"{r['requests']} | {r['runs_per_s']:.1f} | {r['run_p50_s']:.2f} / {r['run_p99_s']:.2f} s | "
        f"{r['post_p50_ms']:.0f} / {r['post_p99_ms']:.0f} ms | {r['reads']} | {r['reads_per_s']:.0f} | "
        f"{r['read_p50_ms']:.0f} / {r['read_p99_ms']:.0f} ms |\n"
        for r in results
    )
    return head + rows


def record(results: list[dict[str, Any]], args: argparse.Namespace, load: str) -> None:
    """Replace the text between the bench_load markers of bench/README.md (or append it)."""
    section = (
        f"{BEGIN}\n### Figures (written by `bench_load.py --record`, {datetime.now():%Y-%m-%d %H:%M})\n\n"
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"--runs {args.runs} --readers {args.readers} --dask-workers {args.dask_workers} "
        f"(1 thread each); load average before the run: {load}.\n\n{table(results)}\n"
        f"All requests answered 2xx and every execution completed: "
        f"{'yes' if all(ok(r) for r in results) else 'NO'}.\n{END}\n"
    )
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        text = before + section + rest.split(END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    README.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--executors", default="local,dask")
    parser.add_argument("--stores", default="sqlite")
    parser.add_argument("--dask-workers", type=int, default=2)
    parser.add_argument("--local-concurrency", type=int, default=4, help="LocalExecutor.max_concurrent")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per scenario")
    parser.add_argument("--max-runs", type=int, default=1000)
    parser.add_argument("--record", action="store_true", help="write the figures into bench/README.md")
    args = parser.parse_args()
    if not 1 <= args.runs <= args.max_runs or not 0 <= args.readers <= 200:
        parser.error(f"--runs must be 1..{args.max_runs} and --readers 0..200")
    load = "%.1f %.1f %.1f" % os.getloadavg()

    results = []
    for store in args.stores.split(","):
        pg: Optional[PostgresServer] = None
        try:
            if store == "postgresql":
                bin_dir = find_pg_bin()
                if bin_dir is None:
                    raise SystemExit("PostgreSQL binaries not found (apt-get install postgresql)")
                pg = PostgresServer(bin_dir)
                pg.start()
            for executor in args.executors.split(","):
                with tempfile.TemporaryDirectory(prefix="dx-load-") as tmp:
                    root = Path(tmp)
                    db_url = ""
                    if pg is not None:
                        import psycopg

                        name = f"load_{uuid.uuid4().hex[:8]}"
                        with psycopg.connect(pg.admin_url.replace("+psycopg", ""), autocommit=True) as conn:
                            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
                        db_url = pg.admin_url.rsplit("/", 1)[0] + "/" + name
                    cluster: Optional[DaskCluster] = None
                    server: Optional[Server] = None
                    try:
                        if executor == "dask":
                            key = base64.b64encode(os.urandom(32)).decode()
                            cluster = DaskCluster(root / "dask", key, workers=args.dask_workers).start()
                            config = {"DXJupyter": {"executor_class": "dx_jupyter.executors.dask.DaskExecutor",
                                                    "executor_key": key},
                                      "DaskExecutor": {"scheduler_address": cluster.address}}
                        elif executor == "local":
                            config = {"LocalExecutor": {"max_concurrent": args.local_concurrency}}
                        else:
                            raise SystemExit(f"unknown executor {executor!r}")
                        server = Server(root / "server", db_url, config)
                        name = f"{executor} executor, {store}"
                        print(f"== {name}: {args.runs} runs queued at once + {args.readers} secret readers", flush=True)
                        result = asyncio.run(scenario(name, server, args.runs, args.readers, args.timeout))
                        results.append(result)
                        print(json.dumps(result, indent=1), flush=True)
                    finally:
                        if server is not None:
                            server.stop()
                        if cluster is not None:
                            cluster.stop()
        finally:
            if pg is not None:
                pg.stop()

    print()
    print(table(results))
    good = all(ok(r) for r in results)
    print("every request answered 2xx and every execution completed:", "yes" if good else "NO")
    if args.record:
        record(results, args, load)
        print(f"recorded in {README}")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
