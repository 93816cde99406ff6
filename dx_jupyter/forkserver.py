"""A warm, pre-imported process that forks one child per execution step.

Starting a fresh interpreter for every step costs more than most steps do. The fork server
starts once, imports `ferris_ef` (and any modules named in `preload`), and then forks a child
per step that runs the script exactly as `python -m ferris_ef.launch` would: new session
(so cancel can kill its process group), output on the given pipe, payload read from the
given pipe. The server never reads a payload; its own environment is the scrubbed step
environment, and its command line holds no secret.

The control channel is a SOCK_SEQPACKET socket pair: the executor sends
`{"id", "script", "cwd", "env"}` with two file descriptors (payload read end, output write end)
attached; the server answers `{"id", "pid"}` or `{"id", "error"}`, and `{"pid", "exit"}` when a
child ends. This module imports only the standard library and ferris_ef, so the server stays
small; the client half is used by `dx_jupyter.runner`.
"""
from __future__ import annotations

import array
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
from typing import Any, Optional, Sequence

MAX_MESSAGE = 256 * 1024


def _send(sock: socket.socket, msg: dict[str, Any], fds: Sequence[int] = ()) -> None:
    data = json.dumps(msg).encode()
    if fds:
        sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sock.send(data)


def _recv(sock: socket.socket, max_fds: int = 0) -> tuple[Optional[dict[str, Any]], list[int]]:
    size = socket.CMSG_SPACE(max_fds * array.array("i").itemsize) if max_fds else 0
    data, ancdata, _flags, _addr = sock.recvmsg(MAX_MESSAGE, size)
    fds: list[int] = []
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            arr = array.array("i")
            arr.frombytes(payload[: len(payload) - len(payload) % arr.itemsize])
            fds.extend(arr)
    return (json.loads(data) if data else None), fds


# ----------------------------------------------------------------------------- server side
def _child(sock: socket.socket, request: dict[str, Any], payload_fd: int, out_fd: int) -> None:
    """In the forked child: become the step process and never return."""
    code = 1
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        sock.close()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(out_fd)
        os.close(devnull)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[0] = ""
        from ferris_ef import launch

        try:
            code = launch.main(["--payload-fd", str(payload_fd), request["script"]])
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
            if not isinstance(done.code, (int, type(None))):
                sys.stderr.write(f"{done.code}\n")
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def serve(sock: socket.socket) -> None:
    """The fork server's loop: spawn on request, report exits, stop when the executor goes."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ, "sock")
    sel.register(wake_r, selectors.EVENT_READ, "wake")
    try:
        while True:
            for key, _ in sel.select():
                if key.data == "wake":
                    os.read(wake_r, 4096)
                    _reap(sock)
                    continue
                request, fds = _recv(sock, max_fds=2)
                if request is None:
                    return
                _spawn(sock, request, fds)
    finally:
        _kill_children()


_live: set[int] = set()


def _kill_children() -> None:
    """The executor went away (closed, or its process died): no step outlives it, since
    nobody is left to collect its output, enforce its timeout or cancel it."""
    for pid in list(_live):
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _spawn(sock: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    if len(fds) != 2:
        for fd in fds:
            os.close(fd)
        _send(sock, {"id": request.get("id"), "error": "expected two file descriptors"})
        return
    payload_fd, out_fd = fds
    pid = os.fork()
    if pid == 0:
        _child(sock, request, payload_fd, out_fd)
    _live.add(pid)
    os.close(payload_fd)
    os.close(out_fd)
    _send(sock, {"id": request["id"], "pid": pid})


def _reap(sock: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _live.discard(pid)
        _send(sock, {"pid": pid, "exit": os.waitstatus_to_exitcode(status)})


def _preload(modules: Sequence[str]) -> None:
    import json  # noqa: F401  (the point is to have these imported before forking)
    import runpy  # noqa: F401

    import ferris_ef  # noqa: F401
    import ferris_ef.backends.runtime  # noqa: F401
    import ferris_ef.launch  # noqa: F401

    for name in modules:
        __import__(name)


def main(argv: Optional[list[str]] = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    fd = int(args[args.index("--fd") + 1])
    preload = [m for m in args[args.index("--preload") + 1].split(",") if m] if "--preload" in args else []
    sock = socket.socket(fileno=fd)
    _preload(preload)
    serve(sock)


# ----------------------------------------------------------------------------- client side
class ForkedProcess:
    """The part of `subprocess.Popen` a runner uses, for a child of the fork server."""

    def __init__(self, pid: int, stdout: Any, server: "ForkServer") -> None:
        self.pid = pid
        self.stdout = stdout
        self.returncode: Optional[int] = None
        self._done = threading.Event()
        self._server = server

    def _exited(self, code: int) -> None:
        self.returncode = code
        self._done.set()

    def wait(self, timeout: Optional[float] = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(f"step pid {self.pid}", timeout or 0)
        return self.returncode  # type: ignore[return-value]


class ForkServer:
    """Executor-side handle of one fork server process, started on first use."""

    def __init__(self, python: str, env: dict[str, str], preload: Sequence[str] = ()) -> None:
        self.python = python
        self.env = env
        self.preload = list(preload)
        self._lock = threading.Lock()
        self._sock: Optional[socket.socket] = None
        self._proc: Optional[subprocess.Popen] = None
        self._next_id = 0
        self._pending: dict[int, tuple[threading.Event, dict[str, Any]]] = {}
        self._children: dict[int, ForkedProcess] = {}
        self._early_exits: dict[int, int] = {}

    def _start(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cmd = [self.python, "-m", "dx_jupyter.forkserver", "--fd", str(theirs.fileno())]
        if self.preload:
            cmd += ["--preload", ",".join(self.preload)]
        self._proc = subprocess.Popen(
            cmd, pass_fds=(theirs.fileno(),), env=self.env, cwd="/",
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True,
        )
        theirs.close()
        threading.Thread(target=self._read, args=(ours,), daemon=True, name="dx-forkserver").start()
        return ours

    def _read(self, sock: socket.socket) -> None:
        while True:
            try:
                msg, _ = _recv(sock)
            except OSError:
                msg = None
            if msg is None:
                return self._lost(sock)
            with self._lock:
                if "exit" in msg:
                    child = self._children.pop(msg["pid"], None)
                    if child is None:
                        self._early_exits[msg["pid"]] = msg["exit"]
                else:
                    waiter = self._pending.pop(msg["id"], None)
            if "exit" in msg:
                if child is not None:
                    child._exited(msg["exit"])
            elif waiter is not None:
                waiter[1].update(msg)
                waiter[0].set()

    def _lost(self, sock: socket.socket) -> None:
        """The server went away: every step it held has failed."""
        with self._lock:
            if self._sock is sock:
                self._sock = None
            children, self._children = self._children, {}
            pending, self._pending = self._pending, {}
        for child in children.values():
            child._exited(-1)
        for event, reply in pending.values():
            reply["error"] = "the fork server stopped"
            event.set()

    def warm(self) -> None:
        """Start the server now, so the first step does not pay for it."""
        with self._lock:
            if self._sock is None:
                self._sock = self._start()

    def launch(self, script: str, cwd: str, env: dict[str, str], payload_fd: int) -> ForkedProcess:
        out_r, out_w = os.pipe()
        try:
            with self._lock:
                if self._sock is None:
                    self._sock = self._start()
                sock = self._sock
                self._next_id += 1
                request_id = self._next_id
                done, reply = threading.Event(), {}
                self._pending[request_id] = (done, reply)
            _send(sock, {"id": request_id, "script": script, "cwd": cwd, "env": env}, [payload_fd, out_w])
        except BaseException:
            os.close(out_r)
            raise
        finally:
            os.close(out_w)
        if not done.wait(30) or "pid" not in reply:
            os.close(out_r)
            raise RuntimeError(f"the fork server did not start the step: {reply.get('error', 'no answer')}")
        child = ForkedProcess(reply["pid"], os.fdopen(out_r, "rb", buffering=0), self)
        with self._lock:
            early = self._early_exits.pop(child.pid, None)
            if early is None:
                self._children[child.pid] = child
        if early is not None:
            child._exited(early)
        return child

    def close(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
            proc = self._proc
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
