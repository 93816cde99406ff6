"""The runtime API a step reaches with its execution token (invariant 6), and what scripts write
through it: `context.secrets.set` and `context.state`."""
from __future__ import annotations

from executions_support import make_package, output, run, start, wait_for, wait_for_file

# A script that calls the runtime API itself with its own token, and prints the HTTP statuses.
PROBE = """\
import json, urllib.error, urllib.request
from ferris_ef._context import current_backend

backend = current_backend()

def status(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(backend._api_url + path, data=data, method=method,
                                 headers={"X-DX-Token": backend._token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
"""

TOKEN_TO_FILE = (
    "from ferris_ef import get_param\nfrom ferris_ef._context import current_backend\n"
    "open(get_param('token_file'), 'w').write(current_backend()._token + '\\n')\n"
)


async def two_packages(dx_api, script: str) -> None:
    await make_package(dx_api, {"probe.py": script}, name="mine", secrets={"MINE": "my-own-value"})
    await make_package(dx_api, {"s.py": "pass\n"}, name="other", secrets={"OTHER_PASS": "other-package-value"})


async def test_script_can_read_its_own_secret_through_the_runtime_api(dx_api):
    await two_packages(dx_api, PROBE + "print(status('GET', '/runtime/secrets/MINE'))\n")
    done = await run(dx_api, "mine")
    assert (await output(dx_api, done["id"]))["output"] == "200\n"


async def test_token_cannot_name_another_package_403(dx_api):
    await two_packages(dx_api, PROBE + (
        "print(status('GET', '/runtime/secrets/OTHER_PASS?project=demo&package=other'))\n"
        "print(status('GET', '/runtime/secrets/MINE?project=demo&package=mine'))\n"
        "print(status('GET', '/runtime/state?project=demo&package=other'))\n"
    ))
    done = await run(dx_api, "mine")
    assert (await output(dx_api, done["id"]))["output"] == "403\n403\n403\n"


async def test_secret_of_another_package_is_out_of_reach(dx_api):
    await two_packages(dx_api, PROBE + (
        "from ferris_ef import get_secret\n"
        "print(get_secret('OTHER_PASS'))\n"
        "print(status('GET', '/runtime/secrets/OTHER_PASS'))\n"
    ))
    done = await run(dx_api, "mine")
    assert (await output(dx_api, done["id"]))["output"] == "None\n404\n"


async def test_token_stops_working_when_its_execution_ends(dx_api, tmp_path):
    token_file = tmp_path / "token"
    await make_package(dx_api, {"leak.py": TOKEN_TO_FILE}, secrets={"DB_PASS": "supersecretpas$"})
    done = await run(dx_api, params={"token_file": str(token_file)})
    assert done["status"] == "completed", done
    token = await wait_for_file(token_file)
    for path, method, body in (
        ("runtime/secrets/DB_PASS", "GET", None),
        ("runtime/secrets/NEW", "PUT", {"value": "x", "scope": "project"}),
        ("runtime/state", "GET", None),
        ("runtime/state", "PUT", {"key": "k", "value": 1}),
    ):
        status, answer = await dx_api(path, method, body, headers={"X-DX-Token": token})
        assert status == 403 and answer["error"] == "forbidden", (path, method, status, answer)
        assert "ended" in answer["message"]


async def test_token_works_while_its_execution_runs(dx_api, tmp_path):
    token_file, gate = tmp_path / "token", tmp_path / "gate"
    await make_package(dx_api, {"hold.py": TOKEN_TO_FILE + (
        "import os, time\nwhile not os.path.exists(get_param('gate')):\n    time.sleep(0.02)\n"
    )}, secrets={"DB_PASS": "supersecretpas$"})
    created = await start(dx_api, params={"token_file": str(token_file), "gate": str(gate)})
    token = await wait_for_file(token_file)
    status, answer = await dx_api("runtime/secrets/DB_PASS", headers={"X-DX-Token": token})
    assert (status, answer) == (200, {"name": "DB_PASS", "value": "supersecretpas$"})
    gate.write_text("go")
    await wait_for(dx_api, created["id"])
    assert (await dx_api("runtime/secrets/DB_PASS", headers={"X-DX-Token": token}))[0] == 403


async def test_runtime_routes_without_a_token_are_403(dx_api):
    await make_package(dx_api, {"s.py": "pass\n"}, secrets={"DB_PASS": "supersecretpas$"})
    for path, method, body in (
        ("runtime/secrets/DB_PASS", "GET", None),
        ("runtime/secrets/DB_PASS", "PUT", {"value": "x", "scope": "project"}),
        ("runtime/state", "GET", None),
        ("runtime/state", "PUT", {"key": "k", "value": 1}),
    ):
        status, answer = await dx_api(path, method, body)
        assert status == 403, (path, method, status, answer)
        assert answer is None or "supersecretpas$" not in str(answer)


async def test_runtime_routes_with_an_unknown_token_are_403(dx_api):
    status, answer = await dx_api("runtime/secrets/DB_PASS", headers={"X-DX-Token": "made-up-token"})
    assert status == 403 and answer["error"] == "forbidden"


async def test_token_printed_by_a_script_is_masked_in_the_result(dx_api):
    await make_package(dx_api, {"show.py": (
        "from ferris_ef._context import current_backend\nprint('token:', current_backend()._token)\n"
    )})
    done = await run(dx_api)
    assert (await output(dx_api, done["id"]))["output"] == "token: [REDACTED]\n"


async def test_project_secret_set_by_a_script_reaches_the_next_execution_and_the_list(dx_api):
    await make_package(dx_api, {"set.py": (
        "from ferris_ef import context\n"
        "meta = context.secrets.set('X', {'somekey': 'someval-123'}, 'project')\n"
        "print(meta['name'], meta['scope'])\n"
    )}, name="writer")
    await make_package(dx_api, {"get.py": (
        "from ferris_ef import context\nprint(context.secrets.get('X')['somekey'] == 'someval-123')\n"
    )}, name="reader")
    first = await run(dx_api, "writer")
    assert first["status"] == "completed", first
    assert (await output(dx_api, first["id"]))["output"] == "X project\n"
    status, listing = await dx_api("projects/demo/secrets")
    assert status == 200
    assert [s["name"] for s in listing["secrets"]] == ["X"]
    assert "someval-123" not in str(listing)
    second = await run(dx_api, "reader")
    assert (await output(dx_api, second["id"]))["output"] == "True\n"


async def test_platform_secret_set_by_a_script_is_listed_on_the_platform(dx_api):
    await make_package(dx_api, {"set.py": (
        "from ferris_ef import context\ncontext.secrets.set('PLAT_X', 'platform-val', 'platform')\n"
    )})
    done = await run(dx_api)
    assert done["status"] == "completed", done
    _, listing = await dx_api("secrets/platform")
    assert "PLAT_X" in [s["name"] for s in listing["secrets"]]


async def test_state_put_persists_across_executions(dx_api):
    await make_package(dx_api, {"count.py": (
        "from ferris_ef import context\n"
        "state = context.state.get()\n"
        "n = state.get('runs', 0) + 1\n"
        "context.state.put('runs', n)\n"
        "print(n, context.state.get())\n"
    )})
    outputs = []
    for _ in range(3):
        done = await run(dx_api)
        assert done["status"] == "completed", done
        outputs.append((await output(dx_api, done["id"]))["output"])
    assert outputs == ["1 {'runs': 1}\n", "2 {'runs': 2}\n", "3 {'runs': 3}\n"]


async def test_state_belongs_to_one_package(dx_api):
    await make_package(dx_api, {"put.py": "from ferris_ef import context\ncontext.state.put('k', 'v')\n"}, name="a")
    await make_package(dx_api, {"get.py": "from ferris_ef import context\nprint(context.state.get())\n"}, name="b")
    await run(dx_api, "a")
    done = await run(dx_api, "b")
    assert (await output(dx_api, done["id"]))["output"] == "{}\n"


async def test_value_set_by_a_script_is_masked_in_that_same_steps_result(dx_api):
    await make_package(dx_api, {"set.py": (
        "from ferris_ef import context\n"
        "context.secrets.set('NEW_PASS', 'fresh-value-9137', 'project')\n"
        "print('printed:', context.secrets.get('NEW_PASS'))\n"
    )})
    done = await run(dx_api)
    assert done["status"] == "completed", done
    result = await output(dx_api, done["id"])
    assert result["output"] == "printed: [REDACTED]\n"
