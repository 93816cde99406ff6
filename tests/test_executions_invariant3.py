"""Invariant 3: no secret value in any process's command line or environment, and the master
key never reaches a step's environment, while a step that holds the secrets is running."""
from __future__ import annotations

import base64
import json
import os

import pytest

from executions_support import make_package, start, wait_for, wait_for_file

CANARIES = {
    "package": "pkg-canary-7Qx9vT2mZ",
    "project": "proj-canary-Lk3Pw8sRb",
    "platform": "plat-canary-Hy6Nd1cVe",
}
MASTER_KEY = base64.b64encode(b"M" * 16 + os.urandom(16)).decode()

HOLD = (
    "import os, time\nfrom ferris_ef import get_param, get_secret\n"
    "held = [get_secret('PKG_SECRET'), get_secret('PROJ_SECRET'), get_secret('PLAT_SECRET')]\n"
    "assert all(held), held\n"
    "open(get_param('pid_file'), 'w').write(f'{os.getpid()}\\n')\n"
    "while not os.path.exists(get_param('gate')):\n    time.sleep(0.02)\n"
)


@pytest.fixture(params=["forkserver", "subprocess"])
def launcher(request) -> str:
    return request.param


@pytest.fixture
def jp_server_config(jp_server_config, monkeypatch, launcher):
    # set before the server (and its executor) start
    monkeypatch.setenv("DX_MASTER_KEY", MASTER_KEY)
    jp_server_config["LocalExecutor"] = {"launcher": launcher}
    return jp_server_config


def needles() -> list[bytes]:
    forms = []
    for value in CANARIES.values():
        forms += [value.encode(), json.dumps(value).encode(), base64.b64encode(value.encode())]
    return forms


def proc_files(kind: str) -> dict[int, bytes]:
    """`/proc/<pid>/<kind>` of every process this user may read."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/{kind}", "rb") as f:
                    found[int(entry)] = f.read()
            except OSError:
                continue
    return found


async def start_holding_step(dx_api, tmp_path):
    await make_package(
        dx_api, {"hold.py": HOLD}, secrets={"PKG_SECRET": CANARIES["package"]}
    )
    assert (await dx_api("projects/demo/secrets", "PUT", {"PROJ_SECRET": CANARIES["project"]}))[0] == 200
    assert (await dx_api("secrets/platform", "PUT", {"PLAT_SECRET": CANARIES["platform"]}))[0] == 200
    pid_file, gate = tmp_path / "pid", tmp_path / "gate"
    created = await start(dx_api, params={"pid_file": str(pid_file), "gate": str(gate)})
    pid = int(await wait_for_file(pid_file))
    return created, pid, gate


async def test_no_secret_value_in_any_command_line_or_environment_while_a_step_runs(dx_api, tmp_path):
    created, pid, gate = await start_holding_step(dx_api, tmp_path)
    try:
        cmdlines, environs = proc_files("cmdline"), proc_files("environ")
        assert pid in cmdlines and pid in environs  # the scan does see the step itself
        for kind, files in (("cmdline", cmdlines), ("environ", environs)):
            for other, content in files.items():
                for needle in needles():
                    assert needle not in content, f"/proc/{other}/{kind} holds a secret value"
    finally:
        gate.write_text("go")
    done = await wait_for(dx_api, created["id"])
    assert done["status"] == "completed", done


async def test_master_key_is_not_in_the_step_environment(dx_api, tmp_path):
    created, pid, gate = await start_holding_step(dx_api, tmp_path)
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read()
        names = {item.split(b"=", 1)[0] for item in environ.split(b"\0") if item}
        assert b"DX_MASTER_KEY" not in names and b"DX_EXECUTOR_KEY" not in names
        assert MASTER_KEY.encode() not in environ
        assert b"JUPYTER_TOKEN" not in names and not any(n.startswith(b"JPY_") for n in names)
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert MASTER_KEY.encode() not in f.read()
    finally:
        gate.write_text("go")
    await wait_for(dx_api, created["id"])


async def test_master_key_is_not_in_the_environment_of_any_step_ancestor_below_the_server(dx_api, tmp_path):
    # the fork server (or nothing, with the subprocess launcher) sits between server and step
    created, pid, gate = await start_holding_step(dx_api, tmp_path)
    try:
        server = os.getpid()
        current = pid
        while current not in (server, 0, 1):
            with open(f"/proc/{current}/environ", "rb") as f:
                assert MASTER_KEY.encode() not in f.read(), f"process {current} holds the master key"
            with open(f"/proc/{current}/stat") as f:
                current = int(f.read().rsplit(")", 1)[1].split()[1])
    finally:
        gate.write_text("go")
    await wait_for(dx_api, created["id"])
