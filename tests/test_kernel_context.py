"""`from ferris_ef import context` in a real kernel of the test server: resolving through each
scope, setting from the kernel, the binding, and the masking of secret values in outputs."""
from __future__ import annotations

import json

import pytest

from kernel_support import db_url, kernel_pythonpath, make_package, make_project, put_secrets, server_kernel  # noqa: F401

PLATFORM = {"DB_HOST": "platform-host.example", "DB_NAME": "platform_db", "ONLY_PLATFORM": "platform-only"}
PROJECT = {"DB_NAME": "project_db", "DB_USER": "project-user"}
PACKAGE = {"DB_NAME": "test_db", "DB_PASS": "supersecretpas$"}
SCRIPT = "print('hi')\n"


async def seed(dx_api) -> None:
    await put_secrets(dx_api, "", PLATFORM)
    await make_project(dx_api, "demo")
    await put_secrets(dx_api, "projects/demo", PROJECT)
    await make_package(dx_api, "demo", "secrets-demo", {"test_secrets.py": SCRIPT}, secrets=PACKAGE)


RESOLVE = """
from ferris_ef import context
names = ["DB_NAME", "DB_PASS", "DB_USER", "DB_HOST", "ONLY_PLATFORM", "MISSING"]
emit({n: context.secrets.get(n) == expected.get(n) and (n in expected) == (context.secrets.get(n) is not None)
      for n in names})
"""


def _expect(*layers: dict) -> str:
    merged: dict = {}
    for layer in layers:  # lowest priority first
        merged.update(layer)
    return f"expected = {json.dumps(merged)}\n"


async def test_secrets_resolve_package_then_project_then_platform_then_none(
    jp_fetch, jp_serverapp, dx_api, kernel_pythonpath
):
    await seed(dx_api)
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        # unbound: the platform scope only, said once
        result = await k.ok("%load_ext dx_jupyter\nfrom ferris_ef import context\n"
                            "a = context.secrets.get('DB_HOST'); b = context.secrets.get('DB_USER')")
        assert result.stderr.count("not bound to a project") == 1
        assert "%dx_use PROJECT" in result.stderr
        again = await k.ok("context.secrets.get('DB_HOST')")
        assert "not bound" not in again.stderr
        assert all((await k.value(_expect(PLATFORM) + RESOLVE)).values())

        use = await k.ok("%dx_use demo")
        assert "Bound to project demo" in use.stdout
        assert all((await k.value(_expect(PLATFORM, PROJECT) + RESOLVE)).values())

        use = await k.ok("%dx_use demo/secrets-demo")
        assert "then project demo, then the platform" in use.stdout
        assert all((await k.value(_expect(PLATFORM, PROJECT, PACKAGE) + RESOLVE)).values())
        assert await k.value("from ferris_ef import get_secret\nemit(get_secret('DB_PASS') == 'supersecretpas$')")

        assert await k.value("emit(repr(context))") == "<ferris_ef context (kernel: demo/secrets-demo)>"
        info = await k.value("emit([context.package.name, context.params['package_name'], "
                             "context.params['package_id'] == context.package.id, context.config])")
        assert info == ["secrets-demo", "secrets-demo", True, {}]

        await k.ok("%dx_use --unbind")
        assert all((await k.value(_expect(PLATFORM) + RESOLVE)).values())


async def test_secrets_set_from_a_kernel_writes_through_the_server(
    jp_fetch, jp_serverapp, dx_api, dx_core, kernel_pythonpath
):
    await seed(dx_api)
    secrets = dx_core.backend.secrets
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        failed = await k.execute("from ferris_ef import context\n"
                                 "context.secrets.set('NEW', 1234, 'project')")
        assert failed.error["ename"] == "FerrisError" and "%dx_use PROJECT" in failed.error["evalue"]

        await k.ok("%load_ext dx_jupyter\n%dx_use demo/secrets-demo")
        meta = await k.value("""
            m1 = context.secrets.set("platform_secret", {"somekey": "someval"}, "platform")
            m2 = context.secrets.set(name="PROJECT_TOKEN", value="tok-1234-abcd", context="project")
            m3 = context.secrets.set("DB_PASS", "rotated-pass", "service")
            emit([m1, m2, m3])
        """)
        assert [(m["name"], m["scope"]) for m in meta] == [
            ("platform_secret", "platform"), ("PROJECT_TOKEN", "project"), ("DB_PASS", "package")]
        assert all("value" not in m for m in meta)
        assert secrets.resolve("platform_secret") == {"somekey": "someval"}
        assert secrets.resolve("PROJECT_TOKEN", "demo") == "tok-1234-abcd"
        assert secrets.resolve("DB_PASS", "demo", "secrets-demo") == "rotated-pass"
        assert await k.value("emit(context.secrets.get('DB_PASS') == 'rotated-pass')")

        bad = await k.execute("context.secrets.set('x', 1, 'galaxy')")
        assert bad.error["ename"] == "FerrisError" and "unknown secret context" in bad.error["evalue"]

        state = await k.value("context.state.put('runs', 3)\nemit(context.state.get())")
        assert state == {"runs": 3}


async def test_binding_errors_are_one_line(jp_fetch, jp_serverapp, dx_api, kernel_pythonpath):
    await seed(dx_api)
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        await k.ok("%load_ext dx_jupyter")
        for line, expected in (
            ("%dx_use nope", "project 'nope' does not exist (add --create to create it)"),
            ("%dx_use demo/nope", "package 'nope' does not exist in project 'demo' (add --create to create it)"),
        ):
            result = await k.execute(line)
            assert result.error["ename"] == "DXMagicError"
            assert result.error["traceback"] == [f"\x1b[0;31mDXMagicError\x1b[0m: {expected}"]
        created = await k.ok("%dx_use fresh/new-pkg --create")
        assert "Bound to fresh/new-pkg" in created.stdout
        # a binding whose project was deleted afterwards: an error, not a silent None
        status, _ = await dx_api("projects/fresh", "DELETE")
        assert status == 204
        gone = await k.execute("from ferris_ef import context\ncontext.secrets.get('DB_PASS')")
        assert gone.error["ename"] == "FerrisError" and "does not exist" in gone.error["evalue"]


# ----- masking -----
MASKING_CELL = r"""
from ferris_ef import context
import json, sys
from IPython.display import display, HTML, Markdown
v = context.secrets.get("DB_PASS")
print(v)
print("in a sentence:", v, file=sys.stderr)
print(json.dumps({"password": v}))
display(HTML(f"<b>{v}</b>"))
display(Markdown(f"**{v}**"))
display({"nested": [v]})
{"returned": v}
"""


async def test_secret_values_are_masked_in_every_output(jp_fetch, jp_serverapp, dx_api, kernel_pythonpath):
    await seed(dx_api)
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        await k.ok("%load_ext dx_jupyter\n%dx_use demo/secrets-demo")
        result = await k.ok(MASKING_CELL)
        assert result.stdout == '[REDACTED]\n{"password": "[REDACTED]"}\n'
        assert result.stderr == "in a sentence: [REDACTED]\n"
        bundles = [o["data"] for o in result.outputs]
        assert bundles[0]["text/html"] == "<b>[REDACTED]</b>"
        assert bundles[1]["text/markdown"] == "**[REDACTED]**"
        assert "[REDACTED]" in bundles[2]["text/plain"]
        assert bundles[3]["text/plain"] == "{'returned': '[REDACTED]'}"
        assert "supersecretpas$" not in result.text()

        error = await k.execute('raise ValueError("bad password " + context.secrets.get("DB_PASS"))')
        assert error.error["evalue"] == "bad password [REDACTED]"
        assert "supersecretpas$" not in json.dumps(error.error["traceback"])
        assert "supersecretpas$" not in json.dumps(error.reply["content"])  # execute_reply too
        assert "[REDACTED]" in "".join(error.error["traceback"])

        widget = await k.ok("import ipywidgets as w\nw.Label(context.secrets.get('DB_PASS'))")
        assert "supersecretpas$" not in widget.text()
        states = [m["content"]["data"]["state"] for m in widget.of_type("comm_open")]
        assert any(s.get("value") == "[REDACTED]" for s in states)

        # values read through the chain from any scope, and values set in the kernel
        other = await k.ok("print(context.secrets.get('DB_USER'), context.secrets.get('DB_HOST'))\n"
                           "context.secrets.set('FRESH', 'fresh-value-1', 'project')\nprint('fresh-value-1')")
        assert other.stdout == "[REDACTED] [REDACTED]\n[REDACTED]\n"

        off = await k.ok("%dx_mask off\nprint(context.secrets.get('DB_PASS'))")
        assert "is off" in off.stdout and "supersecretpas$\n" in off.stdout
        on = await k.ok("%dx_mask on\nprint(context.secrets.get('DB_PASS'))")
        assert on.stdout.endswith("[REDACTED]\n") and "supersecretpas$" not in on.text()


async def test_values_are_masked_without_loading_the_magics(jp_fetch, jp_serverapp, dx_api, kernel_pythonpath):
    await put_secrets(dx_api, "", {"API_KEY": "sk-live-0123456789"})
    async with server_kernel(jp_fetch, jp_serverapp) as k:
        result = await k.ok("from ferris_ef import get_secret\nprint(get_secret('API_KEY'))")
        assert result.stdout == "[REDACTED]\n"


@pytest.fixture
def dx_config():
    return {}


class TestOperatorSwitch:
    @pytest.fixture
    def dx_config(self):
        return {"mask_kernel_outputs": False}

    async def test_the_server_setting_turns_masking_off_in_its_kernels(
        self, jp_fetch, jp_serverapp, dx_api, kernel_pythonpath
    ):
        await put_secrets(dx_api, "", {"API_KEY": "sk-live-0123456789"})
        async with server_kernel(jp_fetch, jp_serverapp) as k:
            result = await k.ok("import os\nfrom ferris_ef import get_secret\n"
                                "print(os.environ['DX_MASK_OUTPUTS'], get_secret('API_KEY'))")
            assert result.stdout == "0 sk-live-0123456789\n"
