"""Fixtures of the browser tests: a real `jupyter lab` with the DX extensions, and Chromium.

The server runs in a subprocess with its own Jupyter data, config, runtime and home
directories, so nothing of the developer's own setup leaks in. It serves the working
tree: the repository root is put first on `PYTHONPATH` (server extension, `ferris_ef` for
the executed scripts) and the built front end in `dx_jupyter/labextension` is put first on
the lab extensions path.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LABEXTENSION = REPO / "dx_jupyter" / "labextension"
OUTPUT = REPO / "test-output"
SCREENSHOTS = OUTPUT / "screenshots"
CHROMIUM = os.environ.get("DX_UI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "dx-ui-test-token"
STARTUP_TIMEOUT = 90.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """A running `jupyter lab` and a small JSON client of its DX API."""

    def __init__(self, url: str, token: str, process: subprocess.Popen, log_path: Path):
        self.url = url
        self.token = token
        self.process = process
        self.log_path = log_path

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def api(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
        """Call `/dx/api/<path>`; returns (status, decoded JSON or text)."""
        request = urllib.request.Request(
            f"{self.url}dx/api/{path}", data=body, method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        text = raw.decode("utf-8", errors="replace")
        try:
            return status, json.loads(text) if text else None
        except json.JSONDecodeError:
            return status, text


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium binary; its absence fails the tests (CI installs it), it never skips them."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: the browser tests need it. "
            "Install it with `apt-get install -y chromium` (do not run `playwright install`), "
            "or point DX_UI_CHROMIUM at a Chromium binary.",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def built_labextension() -> Path:
    if not (LABEXTENSION / "package.json").is_file():
        pytest.fail(
            f"The front end is not built ({LABEXTENSION}/package.json is missing): "
            "run `jlpm install && jlpm build` (or `pip install -e .`) first.",
            pytrace=False,
        )
    return LABEXTENSION


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, built_labextension) -> LabServer:
    root = tmp_path_factory.mktemp("dx-lab")
    dirs = {name: root / name for name in ("data", "config", "runtime", "home", "notebooks", "labext", "settings", "workspaces")}
    for path in dirs.values():
        path.mkdir()
    # The working tree's build, first on the lab extensions path.
    (dirs["labext"] / "dx-jupyter").symlink_to(built_labextension, target_is_directory=True)
    # No announcements ("news") toast covering the page.
    (dirs["config"] / "labconfig").mkdir()
    (dirs["config"] / "labconfig" / "page_config.json").write_text(json.dumps({
        "disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True},
    }))
    # The server extension, enabled explicitly (the installed config may not be there).
    (dirs["config"] / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"jpserver_extensions": {"dx_jupyter": True}},
    }))

    env = dict(os.environ)
    env.update({
        "HOME": str(dirs["home"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": str(dirs["home"] / ".ipython"),
        "XDG_CONFIG_HOME": str(dirs["home"] / ".config"),
        "XDG_DATA_HOME": str(dirs["home"] / ".local" / "share"),
        "XDG_CACHE_HOME": str(dirs["home"] / ".cache"),
        "PYTHONPATH": os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    })
    env.pop("DX_MASTER_KEY", None)
    port = _free_port()
    OUTPUT.mkdir(exist_ok=True)
    log_path = OUTPUT / "ui-lab-server.log"
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", "--ip", "127.0.0.1", "--port", str(port), "--allow-root",
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={dirs['notebooks']}",
        "--ServerApp.port_retries=0",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.extra_labextensions_path={dirs['labext']}",
        f"--LabApp.user_settings_dir={dirs['settings']}",
        f"--LabApp.workspaces_dir={dirs['workspaces']}",
    ]
    log = log_path.open("w")
    process = subprocess.Popen(cmd, env=env, cwd=dirs["notebooks"], stdout=log, stderr=subprocess.STDOUT)
    server = LabServer(f"http://127.0.0.1:{port}/", TOKEN, process, log_path)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        status = None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"jupyter lab exited with {process.returncode}:\n{server.log_tail()}", pytrace=False)
            try:
                status, _ = server.api("GET", "projects")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                status = None
            if status is not None and status != 599:
                break
            time.sleep(0.3)
        if status != 200:
            pytest.fail(
                f"GET /dx/api/projects answered {status}: the DX server extension is not serving.\n"
                f"{server.log_tail()}",
                pytrace=False,
            )
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def lab_page(browser, lab_server):
    """One JupyterLab page, shared by the tests of the session (they run in file order)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{lab_server.url}lab?token={lab_server.token}")
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=90_000)
    page.wait_for_selector(".jp-LabShell", timeout=60_000)
    # The restored layout opens the Launcher and focuses it a moment later, which would close
    # a command palette opened meanwhile: let that happen first.
    page.wait_for_selector(".jp-Launcher", timeout=60_000)
    page.wait_for_function("() => document.activeElement && document.activeElement.closest('.jp-Launcher')")
    page.console_errors = console_errors  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


# pytest-jupyter (loaded by tests/conftest.py) adds autouse fixtures that take the thread's
# asyncio loop and close it after each test. Here that loop is Playwright's (sync API,
# session scoped) and must stay open; these tests start their own server, so both are no-ops.
@pytest.fixture
def jp_asyncio_loop():
    yield None


@pytest.fixture
def jp_server_cleanup():
    yield
