"""The seed page's walkthrough, end to end over REST: project, package with test_secrets.py and
secrets.json, run, steps, results."""
from __future__ import annotations

import pytest

from executions_support import SEED_SCRIPT, SEED_SECRETS, make_project, multipart, output, wait_for


async def create_seed_package(dx_api) -> dict:
    await make_project(dx_api, "demo")
    body, content_type = multipart(
        {"name": "secrets-demo"},
        [
            ("scripts", "test_secrets.py", SEED_SCRIPT.encode()),
            ("scripts", "secrets.json", b'{\n    "DB_NAME": "test_db",\n    "DB_PASS": "supersecretpas$"\n}\n'),
        ],
    )
    status, package = await dx_api(
        "projects/demo/packages", "POST", raw=body, headers={"Content-Type": content_type}
    )
    assert status == 201, package
    return package


async def run_seed(dx_api) -> tuple[dict, dict]:
    await create_seed_package(dx_api)
    status, execution = await dx_api("projects/demo/packages/secrets-demo/executions", "POST")
    assert status == 201, execution
    assert execution["status"] == "pending" and execution["trigger"] == "manual"
    done = await wait_for(dx_api, execution["id"])
    return execution, done


async def test_seed_package_keeps_only_the_script_and_stores_the_secrets(dx_api):
    package = await create_seed_package(dx_api)
    assert [s["name"] for s in package["scripts"]] == ["test_secrets.py"]
    assert sorted(package["secrets"]["stored"]) == ["DB_NAME", "DB_PASS"]


async def test_seed_execution_completes_with_one_completed_step(dx_api):
    created, done = await run_seed(dx_api)
    assert done["status"] == "completed", done
    assert done["status_message"] == ""
    assert done["params"]["package_name"] == "secrets-demo"
    status, steps = await dx_api(f"executions/{created['id']}/steps")
    assert status == 200
    assert [(s["number"], s["script"], s["status"], s["exit_code"]) for s in steps["steps"]] == [
        (1, "test_secrets.py", "completed", 0)
    ]


async def test_seed_result_masks_every_secret_value_by_default(dx_api):
    created, _ = await run_seed(dx_api)
    result = await output(dx_api, created["id"])
    assert result["output"] == (
        "DB NAME: [REDACTED]\nDB PASS: [REDACTED]\nPACKAGE NAME: secrets-demo\n"
    )
    assert result["redacted"] is True and result["truncated"] is False
    assert SEED_SECRETS["DB_PASS"] not in result["output"]
    assert SEED_SECRETS["DB_NAME"] not in result["output"]


class TestRedactionOff:
    @pytest.fixture
    def dx_config(self):
        return {"redact_results": False}

    async def test_seed_result_shows_the_decrypted_secrets_when_redaction_is_off(self, dx_api):
        created, done = await run_seed(dx_api)
        assert done["status"] == "completed", done
        result = await output(dx_api, created["id"])
        assert result["output"] == (
            "DB NAME: test_db\nDB PASS: supersecretpas$\nPACKAGE NAME: secrets-demo\n"
        )
        assert result["redacted"] is False
