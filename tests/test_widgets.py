"""The notebook widgets, read as a frontend reads them: widget models rebuilt from the kernel's
comm messages, and driven by comm messages as a frontend drives them (toggles, clicks, a file
chosen in a FileUpload)."""
from __future__ import annotations

import json

from kernel_support import (  # noqa: F401
    Frontend,
    db_url,
    kernel_pythonpath,
    make_package,
    make_project,
    put_secrets,
    server_kernel,
)

SEED_SCRIPT = """\
from ferris_ef import get_secret, get_param

print(f"DB NAME: {get_secret('DB_NAME')}")
print(f"DB PASS: {get_secret('DB_PASS')}")

print(f"PACKAGE NAME: {get_param('package_name')}")
"""
SECRETS = {"DB_NAME": "test_db", "DB_PASS": "supersecretpas$"}
SLOW = "import time\nprint('first', flush=True)\ntime.sleep(1.5)\nprint('done')\n"


async def seed(dx_api) -> None:
    await make_project(dx_api, "demo")
    await make_package(dx_api, "demo", "secrets-demo", {"test_secrets.py": SEED_SCRIPT}, secrets=SECRETS)
    await make_package(dx_api, "demo", "slow", {"slow.py": SLOW, "after.py": "print('after')\n"})
    await make_package(dx_api, "demo", "broken", {"fails.py": "raise SystemExit(2)\n", "never.py": "print(1)\n"})


CLICK = {"method": "custom", "content": {"event": "click"}}


def _text(obj):
    return bytes(obj).decode("latin-1") if isinstance(obj, (bytes, memoryview)) else str(obj)


async def test_execution_view_models_after_completion_and_live_updates(
    jp_fetch, jp_serverapp, dx_api, kernel_pythonpath
):
    await seed(dx_api)
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        await k.ok("%load_ext dx_jupyter\n%dx_use demo\nr = %dx_run slow")
        ui = Frontend(k.all_messages)
        _, view = ui.one("dx-execution")
        header = {cls: ui.within(view, cls)[0]["value"] for cls in
                  ("dx-exec-package", "dx-exec-trigger", "dx-exec-status", "dx-exec-started", "dx-exec-duration")}
        assert header["dx-exec-package"] == "demo/slow"
        assert header["dx-exec-trigger"] == "trigger: manual"
        assert header["dx-exec-status"] == "status: completed"
        assert header["dx-exec-started"].startswith("started: 20") and header["dx-exec-started"].endswith(" UTC")
        assert header["dx-exec-duration"].startswith("duration: ") and header["dx-exec-duration"].endswith(" s")
        rows = [
            [ui.within(view, cls)[i]["value"] for cls in ("dx-step-number", "dx-step-script", "dx-step-status")]
            for i in range(2)
        ]
        assert rows == [["1", "slow.py", "completed"], ["2", "after.py", "completed"]]
        assert all(d["value"].endswith(" s") for d in ui.within(view, "dx-step-duration"))
        # the status label went through the live states before the final one (no busy loop: a
        # handful of updates for a 1.5 s step, polled with backoff)
        status_id = ui.comm_id(ui.within(view, "dx-exec-status")[0])
        seen = [h.get("value") for h in ui.history[status_id]]
        assert "status: in_progress" in seen and seen[-1] == "status: completed"
        assert seen.index("status: in_progress") < seen.index("status: completed")
        assert len(seen) < 40
        step_status_id = ui.comm_id(ui.within(view, "dx-step-status")[1])
        assert [h["value"] for h in ui.history[step_status_id]][-1] == "completed"
        # the colour of a status is in its style model
        style = ui.ref(ui.within(view, "dx-exec-status")[0]["style"])
        assert style["text_color"] == "#15803d" and style["font_weight"] == "bold"


async def test_show_results_toggle_displays_the_redacted_output(jp_fetch, jp_serverapp, dx_api, kernel_pythonpath):
    await seed(dx_api)
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        await k.ok("%load_ext dx_jupyter\nr = %dx_run demo/secrets-demo")
        ui = Frontend(k.all_messages)
        _, view = ui.one("dx-execution")
        toggle = ui.within(view, "dx-step-toggle")[0]
        result = ui.within(view, "dx-step-result")[0]
        assert toggle["value"] is False and toggle["description"] == "Show results"
        assert ui.ref(result["layout"])["display"] == "none" and result["value"] == ""

        # the user presses the toggle
        await k.comm(ui.comm_id(toggle), {"method": "update", "state": {"value": True}, "buffer_paths": []})
        ui = Frontend(k.all_messages)
        _, view = ui.one("dx-execution")
        result = ui.within(view, "dx-step-result")[0]
        assert ui.within(view, "dx-step-toggle")[0]["description"] == "Hide results"
        assert ui.ref(result["layout"])["display"] is None
        assert ui.ref(result["layout"])["overflow"] == "auto" and ui.ref(result["layout"])["max_height"] == "260px"
        assert "font-family:monospace" in result["value"]
        assert "DB NAME: [REDACTED]\nDB PASS: [REDACTED]\nPACKAGE NAME: secrets-demo" in result["value"]
        assert "secret values masked" in result["value"]
        assert "supersecretpas$" not in json.dumps(k.all_messages, default=str)

        await k.comm(ui.comm_id(ui.within(view, "dx-step-toggle")[0]),
                     {"method": "update", "state": {"value": False}, "buffer_paths": []})
        ui = Frontend(k.all_messages)
        assert ui.ref(ui.within(view, "dx-step-result")[0]["layout"])["display"] == "none"


async def test_a_failed_execution_view(jp_fetch, jp_serverapp, dx_api, kernel_pythonpath):
    await seed(dx_api)
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        run = await k.ok("%load_ext dx_jupyter\nr = %dx_run demo/broken")
        ui = Frontend(k.all_messages)
        _, view = ui.one("dx-execution")
        assert ui.within(view, "dx-exec-status")[0]["value"] == "status: failed"
        assert [m["value"] for m in ui.within(view, "dx-step-status")] == ["failed", "unprocessed"]
        assert ui.ref(ui.within(view, "dx-exec-status")[0]["style"])["text_color"] == "#b91c1c"
        # the saved notebook's fallback: the final display update, text and HTML
        final = run.of_type("update_display_data")[-1]["content"]["data"]
        assert "status: failed" in final["text/plain"]
        assert "1. fails.py  failed" in final["text/plain"] and "2. never.py  unprocessed" in final["text/plain"]
        assert "fails.py" in final["text/html"] and ">failed</span>" in final["text/html"]


async def test_secrets_upload_panel_driven_like_a_frontend(
    jp_fetch, jp_serverapp, dx_api, dx_core, kernel_pythonpath
):
    await seed(dx_api)
    await make_project(dx_api, "other")
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        shown = await k.ok("%load_ext dx_jupyter\n%dx_use demo/secrets-demo\np = %dx_secrets")
        ui = Frontend(k.all_messages)
        _, panel = ui.one("dx-secrets-panel")
        scope = ui.within(panel, "dx-upload-scope")[0]
        project = ui.within(panel, "dx-upload-project")[0]
        package = ui.within(panel, "dx-upload-package")[0]
        file = ui.within(panel, "dx-upload-file")[0]
        assert scope["_options_labels"] == ["package (service)", "project", "platform"]
        assert project["_options_labels"] == ["demo", "other"]  # filled from the server
        assert package["_options_labels"] == ["broken", "secrets-demo", "slow"]
        assert package["index"] == 1  # the bound package
        assert file["accept"] == ".json" and file["multiple"] is False
        assert "Secrets upload panel (package demo/secrets-demo)" in shown.of_type("display_data")[0]["content"]["data"]["text/plain"]

        # choose the project scope, then a file, then press Upload
        await k.comm(ui.comm_id(scope), {"method": "update", "state": {"index": 1}, "buffer_paths": []})
        content = json.dumps({"PROJECT_KEY": "proj-secret-value", "SHARED": {"k": "nested-secret"}}).encode()
        await k.comm(ui.comm_id(file), {
            "method": "update",
            "state": {"value": [{"name": "secrets.json", "type": "application/json", "size": len(content),
                                 "last_modified": 0}]},
            "buffer_paths": [["value", 0, "content"]],
        }, buffers=[content])
        await k.comm(ui.comm_id(ui.within(panel, "dx-upload-button")[0]), CLICK)
        ui = Frontend(k.all_messages)
        _, panel = ui.one("dx-secrets-panel")
        message = ui.within(panel, "dx-upload-result")[0]["value"]
        assert message == "Stored 2 secrets in project demo: <code>PROJECT_KEY, SHARED</code>"
        assert ui.within(panel, "dx-upload-file")[0]["value"] == []  # the file is not kept in the widget
        assert dx_core.backend.secrets.resolve("PROJECT_KEY", "demo") == "proj-secret-value"
        everything = json.dumps(k.all_messages, default=_text)  # buffers too
        assert "proj-secret-value" not in everything and "nested-secret" not in everything

        # the uploaded values are masked in this kernel's outputs too
        printed = await k.ok("from ferris_ef import context\nprint(context.secrets.get('PROJECT_KEY'), 'proj-secret-value')")
        assert printed.stdout == "[REDACTED] [REDACTED]\n"

        # the server's error message, and nothing stored
        bad = await k.value("emit(p.upload(b'[1, 2]'))")
        assert bad is None
        ui = Frontend(k.all_messages)
        error = ui.within(ui.one("dx-secrets-panel")[1], "dx-upload-result")[0]["value"]
        assert "secrets.json was not stored" in error and "color:#b91c1c" in error
        none = await k.ok("p.upload_selected()")
        ui = Frontend(k.all_messages)
        assert "choose a secrets.json file first" in ui.within(ui.one("dx-secrets-panel")[1], "dx-upload-result")[0]["value"]
        assert none.ok

        # platform and package scopes, from a file path, as the walkthrough does
        await k.ok("""
            import json, pathlib
            pathlib.Path('platform.json').write_text(json.dumps({'PLATFORM_KEY': 'plat-secret-value'}))
            p.scope.value = 'platform'
            a = p.upload_file('platform.json')
            p.scope.value = 'package'
            b = p.upload(json.dumps({'PKG_KEY': 'pkg-secret-value'}).encode())
        """)
        assert dx_core.backend.secrets.resolve("PLATFORM_KEY") == "plat-secret-value"
        assert dx_core.backend.secrets.resolve("PKG_KEY", "demo", "secrets-demo") == "pkg-secret-value"
        final = await k.value("emit(p.summary_text())")
        assert final == "Secrets upload panel (package demo/secrets-demo): stored PKG_KEY"


async def test_package_panel_scripts_secret_names_and_run(jp_fetch, jp_serverapp, dx_api, kernel_pythonpath):
    await seed(dx_api)
    await put_secrets(dx_api, "", {"DB_HOST": "platform-host-value", "DB_NAME": "platform-db-value"})
    await put_secrets(dx_api, "projects/demo", {"DB_USER": "project-user-value"})
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        shown = await k.ok("%load_ext dx_jupyter\npanel = %dx_package demo/secrets-demo")
        ui = Frontend(k.all_messages)
        _, panel = ui.one("dx-package-panel")
        scripts = ui.within(panel, "dx-package-scripts")[0]["value"]
        assert "<code>test_secrets.py</code>" in scripts
        secrets = ui.within(panel, "dx-package-secrets")[0]["value"]
        for name in ("DB_HOST", "DB_NAME", "DB_PASS", "DB_USER"):
            assert f"<code>{name}</code>" in secrets
        assert secrets.count("(used)") == 4
        for value in ("platform-host-value", "platform-db-value", "project-user-value", "test_db", "supersecretpas$"):
            assert value not in json.dumps(k.all_messages, default=str)
        text = shown.of_type("display_data")[0]["content"]["data"]["text/plain"]
        assert text == ("Package demo/secrets-demo: scripts test_secrets.py; secrets package: DB_NAME, DB_PASS; "
                        "project: DB_USER; platform: DB_HOST, DB_NAME")

        # the user presses Run: an execution view opens inside the panel and follows the run
        await k.comm(ui.comm_id(ui.within(panel, "dx-package-run")[0]), CLICK)
        assert await k.value("emit(panel.executions[0].wait(60).status)") == "completed"
        ui = Frontend(k.all_messages)
        _, panel = ui.one("dx-package-panel")
        views = ui.within(panel, "dx-execution")
        assert len(views) == 1
        assert ui.within(views[0], "dx-exec-status")[0]["value"] == "status: completed"
        assert [m["value"] for m in ui.within(views[0], "dx-step-status")] == ["completed"]


async def test_executions_table_models(jp_fetch, jp_serverapp, dx_api, kernel_pythonpath):
    await seed(dx_api)
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        await k.ok("%load_ext dx_jupyter\n%dx_use demo\na = %dx_run broken\nb = %dx_run secrets-demo")
        await k.ok("t1 = %dx_executions broken\nt2 = %dx_executions secrets-demo")
        ui = Frontend(k.all_messages)
        tables = ui.with_class("dx-executions-table")
        assert len(tables) == 2
        statuses = [[m["value"] for m in ui.within(t, "dx-execution-row-status")] for _, t in tables]
        assert sorted(statuses) == [["completed"], ["failed"]]
        triggers = [m["value"] for _, t in tables for m in ui.within(t, "dx-execution-row-trigger")]
        assert triggers == ["manual", "manual"]
