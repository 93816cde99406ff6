"""Invariant 4 end to end: step results are masked before they are stored."""
from __future__ import annotations

import pytest

from executions_support import make_package, output, run

PASS = "supersecretpas$"


async def run_printing(dx_api, source: str, secrets: dict, **package) -> dict:
    await make_package(dx_api, {"show.py": "from ferris_ef import context\n" + source}, secrets=secrets, **package)
    done = await run(dx_api)
    assert done["status"] == "completed", done
    return await output(dx_api, done["id"])


async def test_json_escaped_form_is_masked_in_the_result(dx_api):
    value = 'pa"ss\\word-ü'
    result = await run_printing(
        dx_api, "import json\nprint(json.dumps({'pw': context.secrets.get('PW')}))\n", {"PW": value}
    )
    assert result["output"] == '{"pw": "[REDACTED]"}\n'


async def test_string_leaves_of_a_structured_secret_are_masked(dx_api):
    value = {"user": "admin-user", "password": "hunter2-long", "hosts": ["db-primary.internal"]}
    source = (
        "creds = context.secrets.get('CREDS')\n"
        "print('user', creds['user'])\n"
        "print('pw', creds['password'])\n"
        "print('host', creds['hosts'][0])\n"
        "print(creds)\n"
    )
    result = await run_printing(dx_api, source, {"CREDS": value})
    lines = result["output"].splitlines()
    assert lines[:3] == ["user [REDACTED]", "pw [REDACTED]", "host [REDACTED]"]
    for leaf in ("admin-user", "hunter2-long", "db-primary.internal"):
        assert leaf not in result["output"]


async def test_repr_form_is_masked_in_the_result(dx_api):
    value = "it's-a\nsecret"
    result = await run_printing(dx_api, "print(repr(context.secrets.get('PW')))\n", {"PW": value})
    assert result["output"] == '"[REDACTED]"\n'


async def test_values_shorter_than_four_characters_are_not_masked(dx_api):
    result = await run_printing(
        dx_api, "print(context.secrets.get('SHORT'), context.secrets.get('LONG'))\n",
        {"SHORT": "abc", "LONG": "abcd"},
    )
    assert result["output"] == "abc [REDACTED]\n"


async def test_project_and_platform_values_are_masked_too(dx_api):
    await make_package(dx_api, {"show.py": (
        "from ferris_ef import context\n"
        "print(context.secrets.get('PROJ'), context.secrets.get('PLAT'))\n"
    )})
    assert (await dx_api("projects/demo/secrets", "PUT", {"PROJ": "project-value-1"}))[0] == 200
    assert (await dx_api("secrets/platform", "PUT", {"PLAT": "platform-value-2"}))[0] == 200
    done = await run(dx_api)
    assert (await output(dx_api, done["id"]))["output"] == "[REDACTED] [REDACTED]\n"


async def test_a_shadowed_value_of_a_wider_scope_is_masked_too(dx_api):
    # The package's DB_PASS wins over the platform's, but the script process holds both.
    await make_package(dx_api, {"show.py": (
        "from ferris_ef._context import current_backend\n"
        "print(current_backend()._secrets['platform']['DB_PASS'])\n"
    )}, secrets={"DB_PASS": PASS})
    assert (await dx_api("secrets/platform", "PUT", {"DB_PASS": "platform-wide-pass"}))[0] == 200
    done = await run(dx_api)
    assert (await output(dx_api, done["id"]))["output"] == "[REDACTED]\n"


async def test_values_in_a_failing_step_traceback_are_masked(dx_api):
    await make_package(dx_api, {"boom.py": (
        "from ferris_ef import get_secret\nraise RuntimeError('cannot log in with ' + get_secret('DB_PASS'))\n"
    )}, secrets={"DB_PASS": PASS})
    done = await run(dx_api)
    assert done["status"] == "failed"
    text = (await output(dx_api, done["id"]))["output"]
    assert "RuntimeError: cannot log in with [REDACTED]" in text and PASS not in text


async def test_result_is_marked_redacted_whenever_redaction_is_on(dx_api):
    # even without secrets: the execution's token is masked too
    result = await run_printing(dx_api, "print('hello')\n", None)
    assert result == {**result, "output": "hello\n", "redacted": True}


class TestTruncation:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        jp_server_config["LocalExecutor"] = {"max_output_bytes": 64}
        return jp_server_config

    async def test_a_value_straddling_the_output_limit_is_masked_whole(self, dx_api):
        # 60 bytes, then the 15-character secret: the limit (64) falls inside it
        result = await run_printing(
            dx_api, "import sys\nsys.stdout.write('x' * 60 + context.secrets.get('PW') + '\\n' + 'y' * 100)\n",
            {"PW": PASS},
        )
        assert result["truncated"] is True
        assert result["output"].startswith("x" * 60 + "[REDACTED]\n[output truncated at 64 bytes]")
        assert "supe" not in result["output"]
