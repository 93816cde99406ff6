"""Benchmark of executions (issue 3). Plain script: `python bench/bench_executions.py`.

(a) Latency of one run: wall time from the POST of an execution to its `completed` status, for a
    one-step package whose script reads two secrets, on a real `jupyter server` subprocess with
    the extension (free loopback port, temporary data dir); against
    - bare `python script.py`, an equivalent script reading two values from a JSON file;
    - papermill on the equivalent one-cell notebook (kernel `python3`), as the `papermill` CLI
      and through `papermill.execute_notebook` in this process.
    Medians of --runs runs each (default 10), all in this one invocation.
    Targets: <= 1.5x bare python; >= 30x faster than papermill.
(b) Throughput: --queued runs (default 200) of a trivial package POSTed back to back, then
    waited for; runs per second from the first POST to the last final status, and failures.

Each server part runs once per launcher (`--launchers forkserver,subprocess`); the latency runs
go round robin over all contenders (after one warm-up round) so that load changes hit them all.
The client polls
GET /executions/{id} every --poll seconds (default 0.002): the poll interval bounds the error
of the server figures.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parent.parent
OTHER_EXTENSIONS = ("jupyterlab", "jupyter_lsp", "notebook_shim", "jupyter_server_terminals", "nbclassic", "notebook")

SECRETS = {"DB_NAME": "test_db", "DB_PASS": "supersecretpas$"}
STEP = (
    "from ferris_ef import get_secret\n"
    "name, password = get_secret('DB_NAME'), get_secret('DB_PASS')\n"
    "print(f'DB NAME: {name}')\nprint(f'DB PASS: {password}')\n"
)
BARE = (
    "import json, sys\n"
    "values = json.load(open(sys.argv[1]))\n"
    "name, password = values['DB_NAME'], values['DB_PASS']\n"
    "print(f'DB NAME: {name}')\nprint(f'DB PASS: {password}')\n"
)
CELL = (
    "import json\n"
    "values = json.load(open({path!r}))\n"
    "name, password = values['DB_NAME'], values['DB_PASS']\n"
    "print(f'DB NAME: {{name}}')\nprint(f'DB PASS: {{password}}')\n"
)
FINAL = ("completed", "failed", "cancelled")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`python -m jupyter_server` with only dx_jupyter enabled, in its own temporary home."""

    def __init__(self, root: Path, launcher: str, max_concurrent: int) -> None:
        self.root, self.token, self.port = root, uuid.uuid4().hex, free_port()
        config = root / "config"
        config.mkdir(parents=True)
        (root / "notebooks").mkdir()
        (config / "jupyter_server_config.json").write_text(json.dumps({
            "ServerApp": {"jpserver_extensions": {"dx_jupyter": True, **{e: False for e in OTHER_EXTENSIONS}},
                          "ip": "127.0.0.1", "port": self.port, "port_retries": 0, "open_browser": False,
                          "allow_root": True, "root_dir": str(root / "notebooks"), "log_level": "WARN"},
            "IdentityProvider": {"token": self.token},
            "DXJupyter": {"data_dir": str(root / "dx-data")},
            "LocalExecutor": {"launcher": launcher, "max_concurrent": max_concurrent},
        }))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "JPY_"))}
        env.update(HOME=str(root), JUPYTER_CONFIG_DIR=str(config), JUPYTER_DATA_DIR=str(root / "data"),
                   JUPYTER_RUNTIME_DIR=str(root / "runtime"),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")])),
                   DX_MASTER_KEY=base64.b64encode(os.urandom(32)).decode())
        self.log = open(root / "server.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "jupyter_server"], env=env, cwd=root,
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"jupyter server exited:\n{(root / 'server.log').read_text()[-3000:]}")
            try:
                if self.call("GET", "projects")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("jupyter server did not answer within 60 s")
            time.sleep(0.1)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/dx/api/{path}", data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def wait_final(server: Server, eid: str, poll: float) -> dict:
    while True:
        status, execution = server.call("GET", f"executions/{eid}")
        if status != 200:
            raise SystemExit(f"GET executions/{eid}: {status} {execution}")
        if execution["status"] in FINAL:
            return execution
        time.sleep(poll)


def one_run(server: Server, package: str, poll: float) -> tuple[float, dict]:
    t0 = time.perf_counter()
    status, created = server.call("POST", f"projects/bench/packages/{package}/executions")
    if status != 201:
        raise SystemExit(f"POST executions: {status} {created}")
    done = wait_final(server, created["id"], poll)
    return time.perf_counter() - t0, done


def setup(server: Server) -> None:
    assert server.call("POST", "projects", {"name": "bench"})[0] == 201
    status, body = server.call("POST", "projects/bench/packages",
                               {"name": "two-secrets", "scripts": [{"name": "step.py", "content": STEP}]})
    assert status == 201, body
    assert server.call("PUT", "projects/bench/packages/two-secrets/secrets", SECRETS)[0] == 200
    status, body = server.call("POST", "projects/bench/packages",
                               {"name": "trivial", "scripts": [{"name": "noop.py", "content": "pass\n"}]})
    assert status == 201, body


def check_result(server: Server, eid: str) -> None:
    status, result = server.call("GET", f"executions/{eid}/steps/1/result")
    assert result["output"] == "DB NAME: [REDACTED]\nDB PASS: [REDACTED]\n", result


def throughput(server: Server, n: int, poll: float) -> dict:
    t0 = time.perf_counter()
    ids, post_times, post_failures = [], [], 0
    for _ in range(n):
        p0 = time.perf_counter()
        status, created = server.call("POST", "projects/bench/packages/trivial/executions")
        post_times.append(time.perf_counter() - p0)
        if status == 201:
            ids.append(created["id"])
        else:
            post_failures += 1
    statuses: dict[str, int] = {}
    for eid in ids:
        done = wait_final(server, eid, max(poll, 0.01))
        statuses[done["status"]] = statuses.get(done["status"], 0) + 1
    elapsed = time.perf_counter() - t0
    return {
        "runs": n, "seconds": elapsed, "per_second": n / elapsed, "statuses": statuses,
        "failures": post_failures + sum(v for k, v in statuses.items() if k != "completed"),
        "post_median_ms": statistics.median(post_times) * 1000,
        "post_max_ms": max(post_times) * 1000,
    }


class Bare:
    """`python bare.py values.json`."""

    def __init__(self, tmp: Path) -> None:
        self.values, self.script = tmp / "values.json", tmp / "bare.py"
        self.values.write_text(json.dumps(SECRETS))
        self.script.write_text(BARE)

    def run(self) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(self.script), str(self.values)], check=True, capture_output=True)
        return time.perf_counter() - t0


class Papermill:
    """The equivalent one-cell notebook, by the `papermill` CLI and by `execute_notebook`."""

    def __init__(self, tmp: Path) -> None:
        import nbformat

        self.tmp = tmp
        values = tmp / "values.json"
        values.write_text(json.dumps(SECRETS))
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(CELL.format(path=str(values)))]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        self.source = tmp / "one_cell.ipynb"
        nbformat.write(nb, self.source)

    def cli(self) -> float:
        t0 = time.perf_counter()
        subprocess.run(["papermill", "-k", "python3", "--no-progress-bar", str(self.source),
                        str(self.tmp / "out_cli.ipynb")], check=True, capture_output=True)
        return time.perf_counter() - t0

    def api(self) -> float:
        import papermill

        t0 = time.perf_counter()
        papermill.execute_notebook(str(self.source), str(self.tmp / "out_api.ipynb"), kernel_name="python3",
                                   progress_bar=False, log_output=False)
        return time.perf_counter() - t0


def fmt(times: list[float]) -> str:
    return (f"median {statistics.median(times) * 1000:8.1f} ms  "
            f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}, n={len(times)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--queued", type=int, default=200)
    parser.add_argument("--poll", type=float, default=0.002)
    parser.add_argument("--launchers", default="forkserver,subprocess")
    parser.add_argument("--max-concurrent", type=int, default=4)
    parser.add_argument("--no-papermill", action="store_true")
    args = parser.parse_args()

    import logging

    logging.getLogger("papermill").setLevel(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="dx-bench-exec-"))
    servers: dict[str, Server] = {}
    try:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} at start")
        for launcher in args.launchers.split(","):
            servers[launcher] = Server(tmp / f"server-{launcher}", launcher, args.max_concurrent)
            setup(servers[launcher])
        bare, pm = Bare(tmp), (None if args.no_papermill else Papermill(tmp))
        contenders: dict[str, Any] = {"bare python script.py": bare.run}
        for launcher, server in servers.items():
            def dx(server: Server = server) -> float:
                elapsed, done = one_run(server, "two-secrets", args.poll)
                if done["status"] != "completed":
                    raise SystemExit(f"bench run failed: {done}")
                return elapsed
            contenders[f"dx execution ({launcher})"] = dx
        if pm is not None:
            contenders["papermill CLI"] = pm.cli
            contenders["papermill.execute_notebook"] = pm.api
        times: dict[str, list[float]] = {name: [] for name in contenders}
        # Round robin, after one warm-up round, so that changes of machine load hit every contender.
        for round_ in range(args.runs + 1):
            for name, fn in contenders.items():
                elapsed = fn()
                if round_:
                    times[name].append(elapsed)
        for server in servers.values():
            _, page = server.call("GET", "projects/bench/packages/two-secrets/executions?limit=1")
            check_result(server, page["executions"][0]["id"])
        print(f"load {os.getloadavg()[0]:.2f} after the latency rounds")
        for name, samples in times.items():
            print(f"{name:32s} {fmt(samples)}")
        print()
        base = statistics.median(times["bare python script.py"])
        for launcher, server in servers.items():
            med = statistics.median(times[f"dx execution ({launcher})"])
            line = f"[{launcher}] dx / bare python = {med / base:.2f}x (target <= 1.5x)"
            if pm is not None:
                line += (f"; papermill CLI / dx = {statistics.median(times['papermill CLI']) / med:.1f}x, "
                         f"execute_notebook / dx = "
                         f"{statistics.median(times['papermill.execute_notebook']) / med:.1f}x (target >= 30x)")
            print(line)
        for launcher, server in servers.items():
            tp = throughput(server, args.queued, args.poll)
            print(f"[{launcher}] {tp['runs']} queued runs: {tp['seconds']:.2f} s, {tp['per_second']:.1f} runs/s, "
                  f"failures {tp['failures']}, statuses {tp['statuses']}, "
                  f"POST median {tp['post_median_ms']:.1f} ms (max {tp['post_max_ms']:.1f}), "
                  f"load {os.getloadavg()[0]:.2f}")
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
