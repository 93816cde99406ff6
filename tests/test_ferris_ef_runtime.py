"""ferris_ef in an execution step: `python -m ferris_ef.launch --payload-fd N script.py`, a real child process.

The payload goes through a pipe, as the executor sends it. For `secrets.set` and `state`, a tiny
`http.server` in a thread stands in for the server's runtime API (the server boundary only).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

REPO = Path(__file__).resolve().parents[1]
SECRET = "supersecretpas$-7f3a"
TOKEN = "tok-0123456789abcdef"

SEED_SCRIPT = """\
from ferris_ef import get_secret, get_param

print(f"DB NAME: {get_secret('DB_NAME')}")
print(f"DB PASS: {get_secret('DB_PASS')}")

print(f"PACKAGE NAME: {get_param('package_name')}")
"""


def payload(**changes: Any) -> dict[str, Any]:
    doc = {
        "execution_id": "exec-1",
        "step": 1,
        "params": {"package_name": "secrets-demo", "package_id": "pkg-1", "day": "monday"},
        "package": {"id": "pkg-1", "name": "secrets-demo"},
        "project": {"id": "proj-1", "name": "demo"},
        "config": {"LOG_LEVEL": "WARNING", "BATCH": 5},
        "secrets": {"package": {"DB_NAME": "test_db", "DB_PASS": SECRET}, "project": {}, "platform": {}},
        "api_url": None,
        "token": None,
    }
    doc.update(changes)
    return doc


def launch(script: Path, doc: Any, raw: Optional[bytes] = None, **popen: Any) -> subprocess.Popen[str]:
    """Start a step the way the executor does; the payload is written to the pipe and closed."""
    read_fd, write_fd = os.pipe()
    env = {k: v for k, v in os.environ.items() if k != "EF_ENV"}
    env["PYTHONPATH"] = str(REPO)
    popen.setdefault("cwd", script.parent)
    child = subprocess.Popen(
        [sys.executable, "-m", "ferris_ef.launch", "--payload-fd", str(read_fd), str(script)],
        pass_fds=[read_fd], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen,
    )
    os.close(read_fd)
    with os.fdopen(write_fd, "wb") as pipe:
        pipe.write(raw if raw is not None else json.dumps(doc).encode("utf-8"))
    return child


def start_step(tmp_path: Path, source: str, doc: Any, name: str = "script.py", **kw: Any) -> subprocess.Popen[str]:
    script = tmp_path / name
    script.write_text(source)
    return launch(script, doc, **kw)


def run_step(tmp_path: Path, source: str, doc: Any = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    child = start_step(tmp_path, source, payload() if doc is None else doc, **kw)
    out, err = child.communicate(timeout=60)
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


# ----- the seed page's example -----
def test_seed_test_secrets_script_prints_db_name_db_pass_and_package_name(tmp_path: Path) -> None:
    done = run_step(tmp_path, SEED_SCRIPT, name="test_secrets.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"DB NAME: test_db\nDB PASS: {SECRET}\nPACKAGE NAME: secrets-demo\n"


# ----- what the script sees -----
def test_secrets_are_looked_up_in_package_then_project_then_platform(tmp_path: Path) -> None:
    secrets = {
        "package": {"A": "package-a"},
        "project": {"A": "project-a", "B": "project-b"},
        "platform": {"A": "platform-a", "B": "platform-b", "C": {"nested": [1, 2]}},
    }
    source = "from ferris_ef import context as c\nprint(c.secrets.get('A'), c.secrets.get('B'), c.secrets.get('C'), c.secrets.get('D'))"
    done = run_step(tmp_path, source, payload(secrets=secrets))
    assert done.stdout.strip() == "package-a project-b {'nested': [1, 2]} None", done.stderr


def test_params_always_hold_package_name_and_package_id(tmp_path: Path) -> None:
    source = "from ferris_ef import context\nprint(sorted(context.params.items()))"
    done = run_step(tmp_path, source, payload(params={"x": 1}))
    assert done.stdout.strip() == "[('package_id', 'pkg-1'), ('package_name', 'secrets-demo'), ('x', 1)]"


def test_package_config_and_parameters_come_from_the_payload(tmp_path: Path) -> None:
    source = ("from ferris_ef import context as c, get_param\n"
              "print(c.package.name, c.package.id, c.config['BATCH'], c.configs is c.config, "
              "c.parameters['day'], get_param('nope'))")
    done = run_step(tmp_path, source)
    assert done.stdout.strip() == "secrets-demo pkg-1 5 True monday None", done.stderr


def test_logging_level_comes_from_the_payload_config(tmp_path: Path) -> None:
    source = ("from ferris_ef import context\n"
              "context.logging.info('hidden')\ncontext.logging.warning('shown')\n"
              "context.logging.setLevel('INFO')\ncontext.logging.info('now shown')\n")
    done = run_step(tmp_path, source)
    assert "WARNING secrets-demo: shown" in done.stderr and "INFO secrets-demo: now shown" in done.stderr
    assert "hidden" not in done.stderr


def test_scheduler_without_the_server_address_says_what_is_missing(tmp_path: Path) -> None:
    done = run_step(tmp_path, "from ferris_ef import context\ncontext.scheduler.schedule(minutes=5)\n")
    assert done.returncode == 1
    assert "scheduling a job: this step was started without the DX server's address or token" in done.stderr


# ----- running the script like `python script.py` -----
def test_the_script_runs_as_main_with_its_path_as_argv(tmp_path: Path) -> None:
    source = "import sys\nif __name__ == '__main__':\n    print(__name__, sys.argv == [__file__], __file__)\n"
    done = run_step(tmp_path, source)
    assert done.stdout.strip() == f"__main__ True {tmp_path / 'script.py'}"


def test_the_scripts_folder_is_first_on_sys_path(tmp_path: Path) -> None:
    (tmp_path / "pkgdir").mkdir()
    (tmp_path / "pkgdir" / "helper.py").write_text("VALUE = 'from helper'\n")
    script = tmp_path / "pkgdir" / "main.py"
    script.write_text("import sys, helper\nprint(helper.VALUE, sys.path[0])\n")
    out, err = launch(script, payload(), cwd=REPO).communicate(timeout=60)
    assert out.strip() == f"from helper {tmp_path / 'pkgdir'}", err


def test_a_normal_end_exits_0(tmp_path: Path) -> None:
    assert run_step(tmp_path, "x = 1\n").returncode == 0


def test_sys_exit_3_exits_3(tmp_path: Path) -> None:
    assert run_step(tmp_path, "import sys\nsys.exit(3)\n").returncode == 3


def test_sys_exit_with_a_message_prints_it_and_exits_1(tmp_path: Path) -> None:
    done = run_step(tmp_path, "raise SystemExit('stopping here')\n")
    assert (done.returncode, done.stderr.strip()) == (1, "stopping here")


def test_an_uncaught_exception_prints_the_traceback_and_exits_1(tmp_path: Path) -> None:
    done = run_step(tmp_path, "def boom():\n    raise ValueError('bad row 7')\n\nboom()\n")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: bad row 7"
    assert f'File "{tmp_path / "script.py"}", line 4, in <module>' in done.stderr


def test_the_traceback_starts_at_the_script_not_in_the_launcher(tmp_path: Path) -> None:
    done = run_step(tmp_path, "1 / 0\n")
    assert "runpy" not in done.stderr and "launch.py" not in done.stderr
    assert done.stderr.strip().endswith("ZeroDivisionError: division by zero")


def test_the_payload_fd_is_closed_before_the_script_runs(tmp_path: Path) -> None:
    source = ("import os, sys\nfd = int(sys.stdin.readline())\n"
              "try:\n    os.fstat(fd)\n    print('open')\nexcept OSError:\n    print('closed')\n")
    script = tmp_path / "script.py"
    script.write_text(source)
    child = launch(script, payload(), stdin=subprocess.PIPE)
    fd = child.args[4]
    out, err = child.communicate(f"{fd}\n", timeout=60)
    assert out.strip() == "closed", err


def test_secret_values_are_not_in_the_childs_command_line_or_environment(tmp_path: Path) -> None:
    source = ("import os, sys\nfrom ferris_ef import get_secret\nassert get_secret('DB_PASS')\n"
              "print(os.getpid(), flush=True)\nsys.stdin.readline()\n")
    child = start_step(tmp_path, source, payload(token=TOKEN, api_url="http://127.0.0.1:9/dx/api"),
                       stdin=subprocess.PIPE)
    try:
        pid = int(child.stdout.readline())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    finally:
        out, err = child.communicate("\n", timeout=60)
    assert child.returncode == 0, err
    for needle in (SECRET, TOKEN, "test_db"):
        assert needle.encode() not in cmdline
        assert needle.encode() not in environ


# ----- launcher errors -----
def test_a_payload_that_is_not_json_is_a_one_line_launch_error(tmp_path: Path) -> None:
    done = run_step(tmp_path, "print('never')\n", raw=b"{not json")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("ferris_ef.launch: error: the step payload on fd")
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_missing_script_is_a_launch_error(tmp_path: Path) -> None:
    read_fd, write_fd = os.pipe()
    os.close(write_fd)
    done = subprocess.run(
        [sys.executable, "-m", "ferris_ef.launch", "--payload-fd", str(read_fd), str(tmp_path / "no.py")],
        pass_fds=[read_fd], env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True)
    os.close(read_fd)
    assert done.returncode == 2 and "ferris_ef.launch: error:" in done.stderr


def test_the_launcher_needs_the_payload_fd_option(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "ferris_ef.launch", "script.py"],
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True)
    assert done.returncode == 2 and "usage: python -m ferris_ef.launch --payload-fd N" in done.stderr


# ----- secrets.set and state over the runtime API -----
class FakeRuntimeAPI(BaseHTTPRequestHandler):
    """Answers like the server's runtime routes, and records what it was asked."""

    requests: list[dict[str, Any]]
    state: dict[str, Any]

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, doc: Any) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.requests.append(  # type: ignore[attr-defined]
            {"method": self.command, "path": self.path, "token": self.headers.get("X-DX-Token"), "body": body})
        if self.headers.get("X-DX-Token") != TOKEN:
            return self._answer(403, {"error": "forbidden", "message": "the execution token is not valid"})
        state = self.server.state  # type: ignore[attr-defined]
        if self.path.startswith("/dx/api/runtime/secrets/") and self.command == "PUT":
            if body["value"] == "too big":
                return self._answer(413, {"error": "too_large", "message": "secret 'X' is 9 bytes; the limit is 4"})
            name = self.path.rsplit("/", 1)[1]
            return self._answer(200, {"name": name, "scope": body["scope"], "version": 1})
        if self.path == "/dx/api/runtime/state" and self.command == "GET":
            return self._answer(200, {"state": state})
        if self.path == "/dx/api/runtime/state" and self.command == "PUT":
            state[body["key"]] = body["value"]
            return self._answer(200, {"state": state})
        return self._answer(404, {"error": "not_found", "message": "no such route"})

    do_GET = do_PUT = _handle


@pytest.fixture
def api() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRuntimeAPI)
    server.requests = []  # type: ignore[attr-defined]
    server.state = {"runs": 4}  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def api_payload(server: ThreadingHTTPServer, **changes: Any) -> dict[str, Any]:
    host, port = server.server_address[:2]
    return payload(api_url=f"http://{host}:{port}/dx/api/", token=TOKEN, **changes)


def test_secrets_set_puts_the_value_and_scope_with_the_step_token(tmp_path: Path, api: Any) -> None:
    source = ("from ferris_ef import context\n"
              "print(context.secrets.set('platform_secret', {'somekey': 'someval'}, 'platform'))\n")
    done = run_step(tmp_path, source, api_payload(api))
    assert done.returncode == 0, done.stderr
    assert api.requests == [{"method": "PUT", "path": "/dx/api/runtime/secrets/platform_secret", "token": TOKEN,
                             "body": {"value": {"somekey": "someval"}, "scope": "platform"}}]
    assert done.stdout.strip() == "{'name': 'platform_secret', 'scope': 'platform', 'version': 1}"


def test_a_secret_set_is_seen_by_a_later_get_in_the_same_script(tmp_path: Path, api: Any) -> None:
    source = ("from ferris_ef import context\n"
              "context.secrets.set(name='project_secret', value={'k': '17'}, context='project')\n"
              "print(context.secrets.get('project_secret')['k'])\n")
    done = run_step(tmp_path, source, api_payload(api))
    assert done.stdout.strip() == "17", done.stderr


def test_a_project_secret_set_does_not_shadow_the_package_secret(tmp_path: Path, api: Any) -> None:
    source = ("from ferris_ef import context\n"
              "context.secrets.set('DB_NAME', 'project_db', 'project')\n"
              "print(context.secrets.get('DB_NAME'))\n")
    assert run_step(tmp_path, source, api_payload(api)).stdout.strip() == "test_db"


def test_service_is_sent_as_the_package_scope(tmp_path: Path, api: Any) -> None:
    source = "from ferris_ef import context\ncontext.secrets.set('S', 1, 'service')\nprint(context.secrets.get('S'))\n"
    done = run_step(tmp_path, source, api_payload(api))
    assert api.requests[0]["body"] == {"value": 1, "scope": "package"}
    assert done.stdout.strip() == "1"


def test_an_unknown_scope_is_refused_before_any_request(tmp_path: Path, api: Any) -> None:
    done = run_step(tmp_path, "from ferris_ef import context\ncontext.secrets.set('S', 1, 'galaxy')\n",
                    api_payload(api))
    assert done.returncode == 1 and "unknown secret context 'galaxy'" in done.stderr
    assert api.requests == []


def test_state_get_returns_the_servers_state(tmp_path: Path, api: Any) -> None:
    done = run_step(tmp_path, "from ferris_ef import context\nprint(context.state.get())\n", api_payload(api))
    assert done.stdout.strip() == "{'runs': 4}", done.stderr
    assert [(r["method"], r["path"], r["token"]) for r in api.requests] == [("GET", "/dx/api/runtime/state", TOKEN)]


def test_state_put_sends_one_key_and_value(tmp_path: Path, api: Any) -> None:
    source = ("from ferris_ef import context\n"
              "context.state.put('runs', context.state.get()['runs'] + 1)\nprint(context.state.get())\n")
    done = run_step(tmp_path, source, api_payload(api))
    assert done.stdout.strip() == "{'runs': 5}", done.stderr
    assert api.requests[1]["body"] == {"key": "runs", "value": 5}


def test_a_refused_request_raises_ferris_error_with_the_servers_message(tmp_path: Path, api: Any) -> None:
    source = ("from ferris_ef import context, FerrisError\n"
              "try:\n    context.secrets.set('X', 'too big', 'project')\n"
              "except FerrisError as err:\n    print(err.status, err.kind, '|', err)\n")
    done = run_step(tmp_path, source, api_payload(api))
    assert done.stdout.strip() == (
        "413 too_large | setting secret 'X' failed: secret 'X' is 9 bytes; the limit is 4 (HTTP 413)")


def test_a_wrong_token_fails_the_script_with_the_servers_message(tmp_path: Path, api: Any) -> None:
    done = run_step(tmp_path, "from ferris_ef import context\ncontext.state.get()\n",
                    {**api_payload(api), "token": "stolen"})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "ferris_ef.errors.FerrisError: reading the package state failed: the execution token is not valid (HTTP 403)")


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    doc = payload(api_url="http://127.0.0.1:9/dx/api", token=TOKEN)
    done = run_step(tmp_path, "from ferris_ef import context\ncontext.state.put('a', 1)\n", doc)
    assert done.returncode == 1
    assert "cannot reach the DX server at http://127.0.0.1:9/dx/api" in done.stderr


def test_without_an_api_address_writes_say_so(tmp_path: Path) -> None:
    done = run_step(tmp_path, "from ferris_ef import context\ncontext.secrets.set('A', 1, 'project')\n")
    assert done.returncode == 1
    assert "started without the DX server's address or token" in done.stderr


def test_the_launcher_imports_nothing_heavy_before_the_script_runs(tmp_path: Path) -> None:
    """A step should cost little more than bare `python script.py`: HTTP and logging load on use only."""
    source = ("import sys\n"
              "heavy = ('urllib.request', 'http.client', 'logging', 'argparse', 'sqlalchemy', 'tornado',\n"
              "         'jupyter_server', 'dx_jupyter', 'ferris_ef.backends.local', 'ferris_ef.backends.store')\n"
              "print(sorted(m for m in heavy if m in sys.modules))\n")
    done = run_step(tmp_path, source)
    assert done.stdout.strip() == "[]", done.stderr
