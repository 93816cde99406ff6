"""A real `jupyter server` subprocess with the extension, on a free loopback port, for tests that
must stop a server the hard way (SIGKILL) and start another one on the same data dir."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[1]
# not needed here, and slow to load
OTHER_EXTENSIONS = ("jupyterlab", "jupyter_lsp", "notebook_shim", "jupyter_server_terminals", "nbclassic", "notebook")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RealServer:
    def __init__(self, home: Path, data_dir: Path, master_key: str, dx: Optional[dict] = None,
                 config: Optional[dict] = None) -> None:
        self.home, self.data_dir, self.master_key = home, data_dir, master_key
        self.dx = dx or {}
        self.config = config or {}
        self.token = uuid.uuid4().hex
        self.port = 0
        self.proc: Optional[subprocess.Popen] = None
        self.log = home / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "RealServer":
        self.port = free_port()
        config_dir = self.home / "config"
        config_dir.mkdir(parents=True, exist_ok=True)
        (self.home / "root").mkdir(exist_ok=True)
        (config_dir / "jupyter_server_config.json").write_text(json.dumps({
            "ServerApp": {"jpserver_extensions": {"dx_jupyter": True, **{other: False for other in OTHER_EXTENSIONS}},
                          "ip": "127.0.0.1",
                          "port": self.port, "port_retries": 0, "open_browser": False, "allow_root": True,
                          "root_dir": str(self.home / "root")},
            "IdentityProvider": {"token": self.token},
            "DXJupyter": {"data_dir": str(self.data_dir), **self.dx},
            **self.config,
        }))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "JPY_"))}
        env.update(
            HOME=str(self.home), JUPYTER_CONFIG_DIR=str(config_dir),
            JUPYTER_DATA_DIR=str(self.home / "data"), JUPYTER_RUNTIME_DIR=str(self.home / "runtime"),
            PYTHONPATH=os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]),
            DX_MASTER_KEY=self.master_key,
        )
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyter_server"], env=env, cwd=self.home, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter server exited: {self.log.read_text()[-3000:]}")
            try:
                if self.call("GET", "projects")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"jupyter server did not answer: {self.log.read_text()[-3000:]}")

    def call(self, method: str, path: str, body: Any = None, headers: Optional[dict] = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        if data is None and method in ("POST", "PUT", "PATCH"):
            data = b""
        req = urllib.request.Request(
            f"{self.url}/dx/api/{path}", data=data, method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                return err.code, json.loads(raw) if raw else None
            except ValueError:
                return err.code, raw.decode(errors="replace")

    def kill(self) -> None:
        """SIGKILL: a crash, nothing is cleaned up."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
