"""The magics in a real kernel of the test server: %dx_run on a passing and a failing package,
its options, %dx_executions, %dx_secrets, and one-line errors for bad arguments."""
from __future__ import annotations

import json
import time

from kernel_support import db_url, kernel_pythonpath, make_package, make_project, put_secrets, server_kernel  # noqa: F401

SEED_SCRIPT = """\
from ferris_ef import get_secret, get_param

print(f"DB NAME: {get_secret('DB_NAME')}")
print(f"DB PASS: {get_secret('DB_PASS')}")

print(f"PACKAGE NAME: {get_param('package_name')}")
"""
FAILING = "import sys\nprint('about to fail')\nsys.exit(3)\n"
PARAMS = "from ferris_ef import context\nprint(sorted(context.params.items()))\n"
SLOW = "import time\ntime.sleep(1.5)\nprint('slept')\n"
SECRETS = {"DB_NAME": "test_db", "DB_PASS": "supersecretpas$"}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


async def seed(dx_api) -> None:
    await make_project(dx_api, "demo")
    await make_package(dx_api, "demo", "secrets-demo", {"test_secrets.py": SEED_SCRIPT}, secrets=SECRETS)
    await make_package(dx_api, "demo", "broken", {"ok.py": "print('first step')\n", "fails.py": FAILING,
                                                  "never.py": "print('never')\n"})
    await make_package(dx_api, "demo", "params", {"show.py": PARAMS})
    await make_package(dx_api, "demo", "slow", {"slow.py": SLOW})


async def test_dx_run_on_a_passing_package(jp_fetch, jp_serverapp, dx_api, kernel_pythonpath):
    await seed(dx_api)
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        await k.ok("%load_ext dx_jupyter\n%dx_use demo")
        run = await k.ok("r = %dx_run secrets-demo")
        # one live widget, displayed once, whose display is updated to the final readable state
        displays = [o for o in run.of_type("display_data")]
        assert len(displays) == 1 and WIDGET_VIEW in displays[0]["content"]["data"]
        display_id = displays[0]["content"]["transient"]["display_id"]
        finals = [m["content"] for m in run.of_type("update_display_data")]
        assert finals and finals[-1]["transient"]["display_id"] == display_id
        final_text = finals[-1]["data"]["text/plain"]
        assert "status: completed" in final_text and "1. test_secrets.py  completed" in final_text
        assert "| DB NAME: [REDACTED]" in final_text and "| DB PASS: [REDACTED]" in final_text
        assert "| PACKAGE NAME: secrets-demo" in final_text
        assert "<details><summary>Show results</summary>" in finals[-1]["data"]["text/html"]
        assert not run.of_type("execute_result")  # an assignment shows nothing more

        got = await k.value("""
            emit({"id": r.id, "status": r.status, "done": r.done, "trigger": r.trigger,
                  "steps": [(s.number, s.script, s.status, s.exit_code) for s in r.steps],
                  "output": r.output(1), "repr": repr(r)})
        """)
        assert got["status"] == "completed" and got["done"] and got["trigger"] == "manual"
        assert got["steps"] == [[1, "test_secrets.py", "completed", 0]]
        assert got["output"] == "DB NAME: [REDACTED]\nDB PASS: [REDACTED]\nPACKAGE NAME: secrets-demo\n"
        assert got["repr"].startswith(f"<Execution {got['id'][:8]} demo/secrets-demo: completed, 1 step>")

        # the last expression of a cell: the widget once, no second output
        last = await k.ok("%dx_run secrets-demo")
        assert len(last.of_type("display_data")) == 1 and not last.of_type("execute_result")
        # a later cell showing r: the widget again
        again = await k.ok("r")
        assert len(again.of_type("display_data")) == 1


async def test_dx_run_on_a_failing_package_does_not_raise_unless_asked(
    jp_fetch, jp_serverapp, dx_api, kernel_pythonpath
):
    await seed(dx_api)
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        await k.ok("%load_ext ferris_ef")  # the same magics
        run = await k.ok("r = %dx_run demo/broken")
        got = await k.value("emit([r.status, [(s.script, s.status, s.exit_code) for s in r.steps], r.output(2)])")
        assert got[:2] == ["failed", [["ok.py", "completed", 0], ["fails.py", "failed", 3], ["never.py", "unprocessed", None]]]
        assert got[2].startswith("about to fail\n")
        assert "status: failed" in run.of_type("update_display_data")[-1]["content"]["data"]["text/plain"]

        raised = await k.execute("r2 = %dx_run broken --project demo --raise")
        assert raised.error["ename"] == "RunFailed"
        assert len(raised.error["traceback"]) == 1
        assert raised.error["traceback"][0].endswith(" of demo/broken failed") or " of demo/broken failed" in raised.error["traceback"][0]
        ok = await k.ok("r3 = %dx_run secrets-demo --project demo --raise\nprint(r3.status)")
        assert ok.stdout.endswith("completed\n")


async def test_dx_run_params_and_no_wait(jp_fetch, jp_serverapp, dx_api, kernel_pythonpath):
    await seed(dx_api)
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        await k.ok("%load_ext dx_jupyter\n%dx_use demo\nn2 = 7")
        await k.ok('''r = %dx_run params --param n=3 --param name=alice --param "text=two words" --param 'obj={"a": [1]}' ''')
        got = await k.value("emit([r.params, r.output(1)])")
        assert got[0]["n"] == 3 and got[0]["name"] == "alice" and got[0]["text"] == "two words"
        assert got[0]["obj"] == {"a": [1]} and got[0]["package_name"] == "params"
        assert "('n', 3)" in got[1] and "('text', 'two words')" in got[1]
        expanded = await k.value("r = %dx_run params --param n2=$n2 --param sq={n2 * n2}\nemit(r.params)")
        assert expanded["n2"] == 7 and expanded["sq"] == 49  # IPython expands $name and {expr}

        started = time.monotonic()
        nowait = await k.ok("r = %dx_run slow --no-wait\nprint(r.status)")
        assert time.monotonic() - started < 1.4
        assert nowait.stdout.strip() in ("pending", "in_progress")
        done = await k.value("r.wait(60)\nemit([r.status, r.output(1)])")
        assert done == ["completed", "slept\n"]

        timed = await k.ok("r = %dx_run slow --timeout 0.2\nprint(r.done)")
        assert "Still" in timed.stderr and timed.stdout.endswith("False\n")
        assert await k.value("emit(r.wait(60).status)") == "completed"


BAD = [
    ("%dx_run", "UsageError", "%dx_run: the following arguments are required: [PROJECT/]PACKAGE (usage: %dx_run [-h]"),
    ("%dx_run secrets-demo --param novalue", "UsageError", "--param needs KEY=VALUE, got 'novalue'"),
    ("%dx_run secrets-demo --bogus", "UsageError", "%dx_run: unrecognized arguments: --bogus"),
    ("%dx_run secrets-demo --no-wait --raise", "UsageError", "--raise needs to wait for the end"),
    ("%dx_run secrets-demo --timeout soon", "UsageError", "argument --timeout: invalid float value: 'soon'"),
    ("%dx_run a/b --project c", "UsageError", "two projects given"),
    ("%dx_secrets galaxy", "UsageError", "argument SCOPE"),
    ("%dx_executions secrets-demo --limit 0", "UsageError", "--limit must be between 1 and 500"),
    ("%dx_use a/b/c", "UsageError", "expected PROJECT or PROJECT/PACKAGE"),
    ("%dx_mask maybe", "UsageError", "invalid choice: 'maybe'"),
    ('%dx_run "unclosed', "UsageError", "cannot split the arguments"),
]


async def test_bad_arguments_give_one_line_usage_errors(jp_fetch, jp_serverapp, dx_api, kernel_pythonpath):
    await seed(dx_api)
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        await k.ok("%load_ext dx_jupyter")
        unbound = await k.execute("%dx_run secrets-demo")
        assert "which project?" in unbound.stderr and "%dx_use PROJECT" in unbound.stderr
        await k.ok("%dx_use demo")
        for line, kind, expected in BAD:
            result = await k.execute(line)
            assert result.reply["content"]["status"] == "error", line
            assert result.reply["content"]["ename"] == kind, line
            err = result.stderr.strip()
            assert err.startswith("UsageError: ") and expected in err, (line, err)
            assert "\n" not in err, (line, err)

        unknown = await k.execute("%dx_run nope")
        assert unknown.error["traceback"] == [
            "\x1b[0;31mDXMagicError\x1b[0m: package 'nope' does not exist in project 'demo'"]
        unknown_project = await k.execute("%dx_executions other/secrets-demo")
        assert unknown_project.error["traceback"] == ["\x1b[0;31mDXMagicError\x1b[0m: project 'other' does not exist"]
        # nothing was started by the refused lines
        status, page = await dx_api("projects/demo/packages/secrets-demo/executions")
        assert page["total"] == 0


async def test_dash_h_prints_argparse_usage(jp_fetch, jp_serverapp, kernel_pythonpath):
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        await k.ok("%load_ext dx_jupyter")
        for magic in ("dx_use", "dx_run", "dx_secrets", "dx_executions", "dx_package", "dx_mask"):
            result = await k.ok(f"%{magic} -h")
            assert result.stdout.startswith(f"usage: %{magic} [-h]"), result.stdout
            assert "options:" in result.stdout
        run_help = (await k.ok("%dx_run --help")).stdout
        for option in ("--project", "--param KEY=VALUE", "--no-wait", "--raise", "--timeout SECONDS"):
            assert option in run_help


async def test_dx_executions_lists_recent_runs(jp_fetch, jp_serverapp, dx_api, kernel_pythonpath):
    await seed(dx_api)
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        await k.ok("%load_ext dx_jupyter\n%dx_use demo\na = %dx_run secrets-demo\nb = %dx_run secrets-demo")
        table = await k.ok("t = %dx_executions secrets-demo")
        data = table.of_type("display_data")[0]["content"]["data"]
        assert WIDGET_VIEW in data
        assert "Executions of demo/secrets-demo (2 in all)" in data["text/plain"]
        assert data["text/plain"].count("manual") == 2 and data["text/plain"].count("completed") == 2
        got = await k.value("""
            emit([t.page['total'], [e['id'] for e in t.page['executions']] == [b.id, a.id],
                  len(t.grid.children)])
        """)
        assert got == [2, True, 6 * 3]
        opened = await k.value("e = t.open_execution(t.page['executions'][0])\nemit([e.id == b.id, e.wait(30).status])")
        assert opened == [True, "completed"]


async def test_dx_secrets_shows_the_panel_with_scope_preselected(jp_fetch, jp_serverapp, dx_api, kernel_pythonpath):
    await seed(dx_api)
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        await k.ok("%load_ext dx_jupyter")
        shown = await k.ok("p = %dx_secrets")
        assert len(shown.of_type("display_data")) == 1
        assert await k.value("emit([p.scope.value, p.project.value])") == ["platform", "demo"]
        await k.ok("%dx_use demo/secrets-demo")
        assert await k.value("p = %dx_secrets\nemit([p.scope.value, p.project.value, p.package.value])") == [
            "package", "demo", "secrets-demo"]
        assert await k.value("p = %dx_secrets platform\nemit([p.scope.value, p.project.disabled, p.package.disabled])") == [
            "platform", True, True]
        assert await k.value("p = %dx_secrets service\nemit(p.scope.value)") == "package"
        assert await k.value("emit(p.package.options)") == ["broken", "params", "secrets-demo", "slow"]


async def test_the_magics_load_by_default_from_ipython_config(
    jp_fetch, jp_serverapp, dx_api, kernel_pythonpath, tmp_path, monkeypatch
):
    """As docs/notebooks.md says: c.IPKernelApp.extensions in ipython_kernel_config.py."""
    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_kernel_config.py").write_text('c.IPKernelApp.extensions = ["dx_jupyter"]\n')
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    await make_project(dx_api, "demo")
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        result = await k.ok("%dx_use demo")  # no %load_ext
        assert "Bound to project demo" in result.stdout
        shown = await k.ok("%dx_use")
        assert shown.stdout.startswith("Bound to project demo")
        await k.ok("%dx_use --unbind")
        assert (await k.ok("%dx_use")).stdout.startswith("Not bound")


def test_params_parse_as_json_or_text():
    from dx_jupyter.magics import parse_params

    assert parse_params(["a=1", "b=x", "c=", "d=[1, 2]", "e=true", "f=a=b"]) == {
        "a": 1, "b": "x", "c": "", "d": [1, 2], "e": True, "f": "a=b"}
    assert json.dumps(parse_params([])) == "{}"
