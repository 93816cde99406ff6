"""REST API: projects (create, get, list, delete) and their bad input (invariant 7)."""
import pytest

from api_helpers import assert_error, count, SEED_SECRETS_JSON, create_project, create_seed_package
from dx_jupyter.store.models import DataKey, Secret


async def project_names(dx_api) -> list:
    status, body = await dx_api("projects")
    assert status == 200
    return [p["name"] for p in body["projects"]]



async def test_create_project_answers_201_with_the_project(dx_api):
    status, body = await dx_api("projects", "POST", {"name": "demo", "description": "a demo"})
    assert status == 201
    assert body["name"] == "demo" and body["description"] == "a demo"
    assert len(body["id"]) == 32 and body["created_at"].endswith("Z") and body["updated_at"].endswith("Z")


async def test_project_description_defaults_to_empty(dx_api):
    _, body = await dx_api("projects", "POST", {"name": "demo"})
    assert body["description"] == ""


async def test_get_project_answers_what_create_answered(dx_api):
    created = await create_project(dx_api, "demo")
    status, body = await dx_api("projects/demo")
    assert (status, body) == (200, created)


async def test_projects_are_listed_sorted_by_name(dx_api):
    for name in ("zeta", "alpha", "9lives"):
        await create_project(dx_api, name)
    assert await project_names(dx_api) == ["9lives", "alpha", "zeta"]


async def test_unknown_project_is_404_naming_it(dx_api):
    status, body = await dx_api("projects/nope")
    assert_error(status, body, 404, "nope")


async def test_delete_unknown_project_is_404(dx_api):
    await create_project(dx_api, "demo")
    status, body = await dx_api("projects/nope", "DELETE")
    assert_error(status, body, 404, "nope")
    assert await project_names(dx_api) == ["demo"]


async def test_delete_project_answers_204_and_forgets_it(dx_api):
    await create_project(dx_api, "demo")
    await create_project(dx_api, "other")
    status, body = await dx_api("projects/demo", "DELETE")
    assert (status, body) == (204, None)
    assert await project_names(dx_api) == ["other"]
    status, _ = await dx_api("projects/demo")
    assert status == 404


async def test_delete_project_removes_its_packages_secrets_and_data_keys(dx_api, dx_core):
    project = await create_project(dx_api, "demo")
    package = await create_seed_package(dx_api, "demo", "secrets-demo")
    status, _ = await dx_api("projects/demo/secrets", "PUT", raw=b'{"PROJECT_KEY": "p-value"}')
    assert status == 200
    status, _ = await dx_api("secrets/platform", "PUT", raw=b'{"PLATFORM_KEY": "x-value"}')
    assert status == 200
    assert count(dx_core, Secret, owner_id=package["id"]) == 2
    assert count(dx_core, DataKey, owner_id=package["id"]) == 1
    assert count(dx_core, DataKey, owner_id=project["id"]) == 1

    status, _ = await dx_api("projects/demo", "DELETE")
    assert status == 204

    for owner in (project["id"], package["id"]):
        assert count(dx_core, Secret, owner_id=owner) == 0
        assert count(dx_core, DataKey, owner_id=owner) == 0
    _, platform = await dx_api("secrets/platform")
    assert [s["name"] for s in platform["secrets"]] == ["PLATFORM_KEY"]


async def test_recreated_project_starts_empty(dx_api):
    await create_project(dx_api, "demo")
    await create_seed_package(dx_api, "demo", "secrets-demo")
    await dx_api("projects/demo/secrets", "PUT", raw=SEED_SECRETS_JSON)
    await dx_api("projects/demo", "DELETE")
    await create_project(dx_api, "demo")
    assert (await dx_api("projects/demo/packages"))[1] == {"packages": []}
    assert (await dx_api("projects/demo/secrets"))[1] == {"scope": "project", "secrets": []}


# ----- invariant 7: bad input is a 4xx JSON error and stores nothing -----
async def test_bad_json_body_is_400_and_creates_nothing(dx_api):
    status, body = await dx_api("projects", "POST", raw=b'{"name": "demo",')
    assert_error(status, body, 400, "JSON")
    assert await project_names(dx_api) == []


async def test_json_array_body_is_400_and_creates_nothing(dx_api):
    status, body = await dx_api("projects", "POST", raw=b'["demo"]')
    assert_error(status, body, 400, "object")
    assert await project_names(dx_api) == []


async def test_empty_body_is_400(dx_api):
    status, body = await dx_api("projects", "POST")
    assert_error(status, body, 400, "body")
    assert await project_names(dx_api) == []


async def test_missing_name_is_400_and_creates_nothing(dx_api):
    status, body = await dx_api("projects", "POST", {"description": "no name"})
    assert_error(status, body, 400, "name")
    assert await project_names(dx_api) == []


async def test_unknown_fields_are_400_naming_them(dx_api):
    status, body = await dx_api("projects", "POST", {"name": "demo", "secrets": {"A": "b"}})
    assert_error(status, body, 400, "secrets")
    assert await project_names(dx_api) == []


@pytest.mark.parametrize(
    "name", ["", ".hidden", "a b", "a/b", "ü", "x" * 129, 42, None, ["demo"]],
    ids=["empty", "dot", "space", "slash", "non-ascii", "too-long", "number", "null", "list"],
)
async def test_invalid_project_name_is_400_and_creates_nothing(dx_api, name):
    status, body = await dx_api("projects", "POST", {"name": name})
    assert_error(status, body, 400, "name")
    assert await project_names(dx_api) == []


async def test_description_must_be_a_string(dx_api):
    status, body = await dx_api("projects", "POST", {"name": "demo", "description": 3})
    assert_error(status, body, 400, "description")
    assert await project_names(dx_api) == []


async def test_duplicate_project_is_409_and_leaves_the_first(dx_api):
    first = await create_project(dx_api, "demo")
    status, body = await dx_api("projects", "POST", {"name": "demo", "description": "second"})
    assert_error(status, body, 409, "demo", "exists")
    assert (await dx_api("projects"))[1] == {"projects": [first]}


async def test_invalid_name_in_the_url_is_400(dx_api):
    status, body = await dx_api("projects/.hidden")
    assert_error(status, body, 400, "name")
