"""REST API: packages (the seed upload, scripts, PATCH, search, delete) and their bad input."""
import json

import pytest

from api_helpers import (
    assert_error,
    count,
    SEED_SECRETS,
    SEED_SECRETS_JSON,
    TEST_SECRETS_PY,
    create_project,
    create_seed_package,
    json_file,
    post_form,
    script,
)
from dx_jupyter.store.models import DataKey, Package, Secret

PKG = "projects/demo/packages/secrets-demo"
A_PY = b"print('a')\n"
B_PY = b"print('b')\n"
C_PY = b"print('c')\n"
BROKEN_PY = b"def broken(:\n    pass\n"


async def make_demo(dx_api):
    return await create_project(dx_api, "demo")


async def make_abc(dx_api):
    """A project `demo` with a package `abc` of scripts a.py, b.py, c.py in that order."""
    await make_demo(dx_api)
    fields = [("name", "abc"), script("a.py", A_PY), script("b.py", B_PY), script("c.py", C_PY)]
    status, body = await post_form(dx_api, "projects/demo/packages", fields)
    assert status == 201, body
    return body



async def package_names(dx_api, project="demo") -> list:
    status, body = await dx_api(f"projects/{project}/packages")
    assert status == 200, body
    return [p["name"] for p in body["packages"]]


async def script_names(dx_api, package="abc") -> list:
    status, body = await dx_api(f"projects/demo/packages/{package}")
    assert status == 200, body
    return [s["name"] for s in body["scripts"]]


async def download(jp_fetch, package, name):
    return await jp_fetch("dx", "api", "projects", "demo", "packages", package, "scripts", name)


# ----- the seed flow -----
async def test_seed_upload_creates_the_package_with_its_script(dx_api):
    await make_demo(dx_api)
    package = await create_seed_package(dx_api)
    assert package["name"] == "secrets-demo" and package["project"] == "demo"
    assert package["description"] == "seed"
    assert [(s["name"], s["order"], s["size"]) for s in package["scripts"]] == [
        ("test_secrets.py", 1, len(TEST_SECRETS_PY))
    ]


async def test_seed_upload_answers_the_stored_secret_names_only(dx_api):
    await make_demo(dx_api)
    package = await create_seed_package(dx_api)
    assert package["secrets"] == {"stored": ["DB_NAME", "DB_PASS"]}
    for value in SEED_SECRETS.values():
        assert value not in json.dumps(package)


async def test_seed_upload_lists_secret_names_in_the_package_scope(dx_api):
    await make_demo(dx_api)
    await create_seed_package(dx_api)
    status, body = await dx_api(f"{PKG}/secrets")
    assert status == 200
    assert body["scope"] == "package"
    assert [(s["name"], s["scope"], s["version"]) for s in body["secrets"]] == [
        ("DB_NAME", "package", 1), ("DB_PASS", "package", 1)
    ]


async def test_seed_secrets_reach_the_script_through_the_package_scope(dx_api, dx_core):
    await make_demo(dx_api)
    package = await create_seed_package(dx_api)
    assert dx_core.backend.secrets.resolve_scoped(package["id"])["package"] == SEED_SECRETS


async def test_secrets_json_among_scripts_is_not_listed_as_a_script(dx_api):
    await make_demo(dx_api)
    package = await create_seed_package(dx_api, secrets_as_script=True)
    assert [s["name"] for s in package["scripts"]] == ["test_secrets.py"]
    assert await script_names(dx_api, "secrets-demo") == ["test_secrets.py"]


async def test_secrets_json_among_scripts_goes_to_the_package_secrets(dx_api, dx_core):
    await make_demo(dx_api)
    package = await create_seed_package(dx_api, secrets_as_script=True)
    assert package["secrets"] == {"stored": ["DB_NAME", "DB_PASS"]}
    _, body = await dx_api(f"{PKG}/secrets")
    assert [s["name"] for s in body["secrets"]] == ["DB_NAME", "DB_PASS"]
    assert dx_core.backend.secrets.resolve_scoped(package["id"])["package"] == SEED_SECRETS


@pytest.mark.parametrize("as_script", [False, True], ids=["secrets-field", "among-scripts"])
async def test_secrets_json_is_never_downloadable(dx_api, as_script):
    await make_demo(dx_api)
    await create_seed_package(dx_api, secrets_as_script=as_script)
    status, body = await dx_api(f"{PKG}/scripts/secrets.json")
    assert_error(status, body, 404, "secrets.json")


async def test_download_script_gives_its_source(jp_fetch, dx_api):
    await make_demo(dx_api)
    await create_seed_package(dx_api)
    resp = await download(jp_fetch, "secrets-demo", "test_secrets.py")
    assert resp.code == 200
    assert resp.body == TEST_SECRETS_PY


async def test_download_script_is_a_python_attachment(jp_fetch, dx_api):
    await make_demo(dx_api)
    await create_seed_package(dx_api)
    resp = await download(jp_fetch, "secrets-demo", "test_secrets.py")
    assert resp.headers["Content-Disposition"] == 'attachment; filename="test_secrets.py"'
    assert resp.headers["Content-Type"].startswith("text/x-python")


async def test_download_unknown_script_is_404(dx_api):
    await make_abc(dx_api)
    status, body = await dx_api("projects/demo/packages/abc/scripts/zzz.py")
    assert_error(status, body, 404, "zzz.py")


async def test_config_json_file_becomes_the_package_config(dx_api):
    await make_demo(dx_api)
    fields = [("name", "cfg"), script("a.py", A_PY), json_file("config", "config.json", {"LOG_LEVEL": "INFO"})]
    status, body = await post_form(dx_api, "projects/demo/packages", fields)
    assert status == 201, body
    assert body["config"] == {"LOG_LEVEL": "INFO"} and "secrets" not in body


async def test_config_json_among_scripts_becomes_the_config(dx_api):
    await make_demo(dx_api)
    fields = [("name", "cfg"), script("a.py", A_PY), json_file("scripts", "config.json", {"X": 1})]
    status, body = await post_form(dx_api, "projects/demo/packages", fields)
    assert status == 201, body
    assert body["config"] == {"X": 1}
    assert [s["name"] for s in body["scripts"]] == ["a.py"]


async def test_scripts_keep_their_upload_order(dx_api):
    abc = await make_abc(dx_api)
    assert [(s["name"], s["order"]) for s in abc["scripts"]] == [("a.py", 1), ("b.py", 2), ("c.py", 3)]


async def test_create_package_from_a_json_body(dx_api):
    await make_demo(dx_api)
    status, body = await dx_api("projects/demo/packages", "POST", {
        "name": "j", "description": "d", "config": {"K": "v"},
        "scripts": [{"name": "one.py", "content": "print(1)\n"}, {"name": "two.py", "content": "print(2)\n"}],
    })
    assert status == 201, body
    assert [s["name"] for s in body["scripts"]] == ["one.py", "two.py"]
    assert (body["description"], body["config"]) == ("d", {"K": "v"})


async def test_get_package_answers_the_package(dx_api):
    abc = await make_abc(dx_api)
    status, body = await dx_api("projects/demo/packages/abc")
    assert status == 200
    assert body == {k: v for k, v in abc.items() if k != "secrets"}


async def test_packages_are_listed_sorted_by_name(dx_api):
    await make_demo(dx_api)
    for name in ("zz", "aa", "mm"):
        await create_seed_package(dx_api, package=name, secrets=None)
    assert await package_names(dx_api) == ["aa", "mm", "zz"]


async def test_q_filters_packages_by_name(dx_api):
    await make_demo(dx_api)
    for name in ("etl-daily", "etl-hourly", "report"):
        await create_seed_package(dx_api, package=name, secrets=None)
    status, body = await dx_api("projects/demo/packages", params={"q": "etl"})
    assert status == 200
    assert [p["name"] for p in body["packages"]] == ["etl-daily", "etl-hourly"]


async def test_q_ignores_case_on_every_store(dx_api):
    await make_demo(dx_api)
    for name in ("ETL-daily", "etl-hourly", "report"):
        await create_seed_package(dx_api, package=name, secrets=None)
    _, body = await dx_api("projects/demo/packages", params={"q": "Etl"})
    assert [p["name"] for p in body["packages"]] == ["ETL-daily", "etl-hourly"]


async def test_q_matches_wildcard_characters_literally(dx_api):
    await make_demo(dx_api)
    for name in ("a_b", "axb"):
        await create_seed_package(dx_api, package=name, secrets=None)
    _, body = await dx_api("projects/demo/packages", params={"q": "_"})
    assert [p["name"] for p in body["packages"]] == ["a_b"]
    _, body = await dx_api("projects/demo/packages", params={"q": "%"})
    assert body["packages"] == []


async def test_packages_of_another_project_are_not_listed(dx_api):
    await make_demo(dx_api)
    await create_project(dx_api, "other")
    await create_seed_package(dx_api, project="other", package="theirs", secrets=None)
    assert await package_names(dx_api) == []


# ----- PATCH -----
async def test_patch_reorders_scripts(dx_api):
    await make_abc(dx_api)
    status, body = await dx_api("projects/demo/packages/abc", "PATCH", {"script_order": ["c.py", "a.py", "b.py"]})
    assert status == 200, body
    assert [(s["name"], s["order"]) for s in body["scripts"]] == [("c.py", 1), ("a.py", 2), ("b.py", 3)]
    assert await script_names(dx_api) == ["c.py", "a.py", "b.py"]


async def test_patch_replaces_a_script_by_name(dx_api, jp_fetch):
    await make_abc(dx_api)
    new = "print('b, version 2')\n"
    status, body = await dx_api("projects/demo/packages/abc", "PATCH", {"scripts": [{"name": "b.py", "content": new}]})
    assert status == 200, body
    assert [s["name"] for s in body["scripts"]] == ["a.py", "b.py", "c.py"]
    assert (await download(jp_fetch, "abc", "b.py")).body.decode() == new


async def test_patch_adds_a_new_script_last(dx_api):
    await make_abc(dx_api)
    status, body = await dx_api("projects/demo/packages/abc", "PATCH", {"scripts": [{"name": "d.py", "content": "x = 1\n"}]})
    assert status == 200, body
    assert [(s["name"], s["order"]) for s in body["scripts"]] == [("a.py", 1), ("b.py", 2), ("c.py", 3), ("d.py", 4)]


async def test_patch_removes_scripts_and_renumbers(dx_api, jp_fetch):
    await make_abc(dx_api)
    status, body = await dx_api("projects/demo/packages/abc", "PATCH", {"remove_scripts": ["a.py"]})
    assert status == 200, body
    assert [(s["name"], s["order"]) for s in body["scripts"]] == [("b.py", 1), ("c.py", 2)]
    status, _ = await dx_api("projects/demo/packages/abc/scripts/a.py")
    assert status == 404


async def test_patch_multipart_replaces_and_adds_scripts(dx_api, jp_fetch):
    await make_abc(dx_api)
    fields = [script("a.py", b"print('new a')\n"), script("z.py", b"print('z')\n"), ("description", "via form")]
    status, body = await post_form(dx_api, "projects/demo/packages/abc", fields, method="PATCH")
    assert status == 200, body
    assert [s["name"] for s in body["scripts"]] == ["a.py", "b.py", "c.py", "z.py"]
    assert body["description"] == "via form"
    assert (await download(jp_fetch, "abc", "a.py")).body == b"print('new a')\n"


async def test_patch_sets_description_and_config(dx_api):
    await make_abc(dx_api)
    status, body = await dx_api("projects/demo/packages/abc", "PATCH", {"description": "new", "config": {"A": [1]}})
    assert status == 200, body
    assert (body["description"], body["config"]) == ("new", {"A": [1]})
    assert (await dx_api("projects/demo/packages/abc"))[1]["config"] == {"A": [1]}


# ----- delete -----
async def test_delete_package_answers_204_and_forgets_it(dx_api):
    await make_abc(dx_api)
    await create_seed_package(dx_api, package="keep", secrets=None)
    status, body = await dx_api("projects/demo/packages/abc", "DELETE")
    assert (status, body) == (204, None)
    assert await package_names(dx_api) == ["keep"]


async def test_delete_package_removes_its_secrets_and_data_key(dx_api, dx_core):
    await make_demo(dx_api)
    package = await create_seed_package(dx_api)
    await dx_api(f"{PKG}/secrets/EXTRA", "PUT", {"value": {"k": "v"}})
    assert count(dx_core, Secret, owner_id=package["id"]) == 3
    assert count(dx_core, DataKey, owner_id=package["id"]) == 1
    status, _ = await dx_api(PKG, "DELETE")
    assert status == 204
    assert count(dx_core, Secret, owner_id=package["id"]) == 0
    assert count(dx_core, DataKey, owner_id=package["id"]) == 0


async def test_delete_package_leaves_sibling_and_project_secrets(dx_api, dx_core):
    demo = await make_demo(dx_api)
    await create_seed_package(dx_api)
    sibling = await create_seed_package(dx_api, package="sibling")
    await dx_api("projects/demo/secrets", "PUT", raw=b'{"P": 1}')
    await dx_api(PKG, "DELETE")
    assert count(dx_core, Secret, owner_id=sibling["id"]) == 2
    assert count(dx_core, Secret, owner_id=demo["id"]) == 1
    _, body = await dx_api("projects/demo/packages/sibling/secrets")
    assert [s["name"] for s in body["secrets"]] == ["DB_NAME", "DB_PASS"]


async def test_recreated_package_has_no_old_secrets(dx_api):
    await make_demo(dx_api)
    await create_seed_package(dx_api)
    await dx_api(PKG, "DELETE")
    await create_seed_package(dx_api, secrets=None)
    assert (await dx_api(f"{PKG}/secrets"))[1]["secrets"] == []


# ----- invariant 7: bad input is a 4xx JSON error, and nothing is stored -----
async def assert_nothing_created(dx_api, dx_core, names=()):
    assert await package_names(dx_api) == list(names)
    assert count(dx_core, Package) == len(names)


async def assert_no_secret_stored(dx_core):
    assert count(dx_core, Secret) == 0
    assert count(dx_core, DataKey, scope="package") == 0


@pytest.mark.parametrize(
    "path,method",
    [
        ("projects/nope/packages", "GET"),
        ("projects/demo/packages/nope", "GET"),
        ("projects/demo/packages/nope", "DELETE"),
        ("projects/demo/packages/nope/scripts/a.py", "GET"),
        ("projects/demo/packages/nope/secrets", "GET"),
    ],
)
async def test_unknown_project_or_package_is_404_naming_it(dx_api, path, method):
    await make_demo(dx_api)
    status, body = await dx_api(path, method)
    assert_error(status, body, 404, "nope")


async def test_patch_unknown_package_is_404(dx_api):
    await make_demo(dx_api)
    status, body = await dx_api("projects/demo/packages/nope", "PATCH", {"description": "x"})
    assert_error(status, body, 404, "nope")


async def test_create_in_unknown_project_is_404_and_stores_nothing(dx_api, dx_core):
    status, body = await post_form(dx_api, "projects/nope/packages", [
        ("name", "p"), script("a.py", A_PY), json_file("secrets", "secrets.json", SEED_SECRETS_JSON)])
    assert_error(status, body, 404, "nope")
    assert count(dx_core, Package) == 0
    await assert_no_secret_stored(dx_core)


async def test_create_without_name_is_400(dx_api, dx_core):
    await make_demo(dx_api)
    status, body = await post_form(dx_api, "projects/demo/packages", [script("a.py", A_PY)])
    assert_error(status, body, 400, "name")
    await assert_nothing_created(dx_api, dx_core)


async def test_create_json_without_name_is_400(dx_api, dx_core):
    await make_demo(dx_api)
    status, body = await dx_api("projects/demo/packages", "POST", {"description": "x"})
    assert_error(status, body, 400, "name")
    await assert_nothing_created(dx_api, dx_core)


async def test_create_with_bad_json_body_is_400(dx_api, dx_core):
    await make_demo(dx_api)
    status, body = await dx_api("projects/demo/packages", "POST", raw=b"{'name': 'p'}")
    assert_error(status, body, 400, "JSON")
    await assert_nothing_created(dx_api, dx_core)


async def test_create_with_json_array_body_is_400(dx_api, dx_core):
    await make_demo(dx_api)
    status, body = await dx_api("projects/demo/packages", "POST", raw=b'[{"name": "p"}]')
    assert_error(status, body, 400, "object")
    await assert_nothing_created(dx_api, dx_core)


async def test_create_json_with_secrets_field_is_400_not_silently_dropped(dx_api, dx_core):
    await make_demo(dx_api)
    status, body = await dx_api("projects/demo/packages", "POST", {"name": "p", "secrets": SEED_SECRETS})
    assert_error(status, body, 400, "secrets")
    await assert_nothing_created(dx_api, dx_core)
    await assert_no_secret_stored(dx_core)


async def test_create_with_misnamed_form_file_is_400_not_silently_dropped(dx_api, dx_core):
    await make_demo(dx_api)
    fields = [("name", "p"), script("a.py", A_PY), json_file("secret", "secrets.json", SEED_SECRETS_JSON)]
    status, body = await post_form(dx_api, "projects/demo/packages", fields)
    assert_error(status, body, 400, "secret")
    await assert_nothing_created(dx_api, dx_core)
    await assert_no_secret_stored(dx_core)


async def test_create_with_secrets_as_a_text_field_is_400(dx_api, dx_core):
    await make_demo(dx_api)
    fields = [("name", "p"), script("a.py", A_PY), ("secrets", SEED_SECRETS_JSON.decode())]
    status, body = await post_form(dx_api, "projects/demo/packages", fields)
    assert_error(status, body, 400, "secrets", "file")
    await assert_nothing_created(dx_api, dx_core)
    await assert_no_secret_stored(dx_core)


@pytest.mark.parametrize(
    "name", ["", ".x", "a b", "ü", "x" * 129], ids=["empty", "dot", "space", "non-ascii", "too-long"]
)
async def test_invalid_package_name_is_400(dx_api, dx_core, name):
    await make_demo(dx_api)
    status, body = await post_form(dx_api, "projects/demo/packages", [("name", name), script("a.py", A_PY)])
    assert_error(status, body, 400, "name")
    await assert_nothing_created(dx_api, dx_core)


@pytest.mark.parametrize("name", ["a.txt", "secrets.py.bak", "../a.py", "a b.py"])
async def test_invalid_script_name_is_400(dx_api, dx_core, name):
    await make_demo(dx_api)
    status, body = await post_form(dx_api, "projects/demo/packages", [("name", "p"), script(name, A_PY)])
    assert_error(status, body, 400, "script")
    await assert_nothing_created(dx_api, dx_core)


async def test_two_scripts_with_the_same_name_are_400(dx_api, dx_core):
    await make_demo(dx_api)
    status, body = await post_form(dx_api, "projects/demo/packages", [
        ("name", "p"), script("a.py", A_PY), script("a.py", B_PY)])
    assert_error(status, body, 400, "same")
    await assert_nothing_created(dx_api, dx_core)


async def test_json_scripts_of_the_wrong_shape_are_400(dx_api, dx_core):
    await make_demo(dx_api)
    status, body = await dx_api("projects/demo/packages", "POST", {"name": "p", "scripts": ["a.py"]})
    assert_error(status, body, 400, "scripts")
    await assert_nothing_created(dx_api, dx_core)


async def test_duplicate_package_is_409_and_keeps_the_first_with_its_secrets(dx_api, dx_core):
    await make_demo(dx_api)
    first = await create_seed_package(dx_api)
    status, body = await post_form(dx_api, "projects/demo/packages", [
        ("name", "secrets-demo"), script("other.py", A_PY),
        json_file("secrets", "secrets.json", {"DB_PASS": "overwritten?", "NEW": "x"})])
    assert_error(status, body, 409, "secrets-demo", "exists")
    assert await script_names(dx_api, "secrets-demo") == ["test_secrets.py"]
    _, secrets = await dx_api(f"{PKG}/secrets")
    assert [(s["name"], s["version"]) for s in secrets["secrets"]] == [("DB_NAME", 1), ("DB_PASS", 1)]
    assert dx_core.backend.secrets.resolve_scoped(first["id"])["package"] == SEED_SECRETS


async def test_script_with_syntax_error_is_422_and_creates_no_package_and_no_secrets(dx_api, dx_core):
    await make_demo(dx_api)
    status, body = await post_form(dx_api, "projects/demo/packages", [
        ("name", "p"), script("good.py", A_PY), script("bad.py", BROKEN_PY),
        json_file("secrets", "secrets.json", SEED_SECRETS_JSON)])
    assert_error(status, body, 422, "bad.py", "syntax", "line 1")
    await assert_nothing_created(dx_api, dx_core)
    await assert_no_secret_stored(dx_core)


async def test_script_that_is_not_utf8_is_422(dx_api, dx_core):
    await make_demo(dx_api)
    status, body = await post_form(dx_api, "projects/demo/packages", [("name", "p"), script("a.py", b"x = '\xff'\n")])
    assert_error(status, body, 422, "a.py", "UTF-8")
    await assert_nothing_created(dx_api, dx_core)


@pytest.mark.parametrize("dx_config", [{"max_secrets_file_bytes": 64}])
async def test_oversized_secrets_json_is_413_and_creates_nothing(dx_api, dx_core):
    await make_demo(dx_api)
    big = json.dumps({"DB_PASS": "x" * 100}).encode()
    status, body = await post_form(dx_api, "projects/demo/packages", [
        ("name", "p"), script("a.py", A_PY), json_file("secrets", "secrets.json", big)])
    assert_error(status, body, 413, "secrets.json", "64")
    await assert_nothing_created(dx_api, dx_core)
    await assert_no_secret_stored(dx_core)


@pytest.mark.parametrize(
    "content,words",
    [
        (b'["DB_PASS", "x"]', ("object", "array")),
        (b'"just a string"', ("object", "string")),
        (b'{"DB_PASS": "a", "DB_PASS": "b"}', ("duplicate", "DB_PASS")),
        (b'{"DB_PASS": ', ("JSON", "line 1")),
        (b"", ("empty",)),
        (b'{"DB_PASS": null}', ("DB_PASS", "null")),
    ],
    ids=["array", "string", "duplicate-keys", "invalid-json", "empty", "null-value"],
)
async def test_unacceptable_secrets_json_is_422_and_creates_nothing(dx_api, dx_core, content, words):
    await make_demo(dx_api)
    status, body = await post_form(dx_api, "projects/demo/packages", [
        ("name", "p"), script("a.py", A_PY), json_file("secrets", "secrets.json", content)])
    assert_error(status, body, 422, *words)
    await assert_nothing_created(dx_api, dx_core)
    await assert_no_secret_stored(dx_core)


async def test_unacceptable_secrets_json_among_scripts_creates_nothing(dx_api, dx_core):
    await make_demo(dx_api)
    status, body = await post_form(dx_api, "projects/demo/packages", [
        ("name", "p"), script("a.py", A_PY), json_file("scripts", "secrets.json", b'{"A": 1, "A": 2}')])
    assert_error(status, body, 422, "duplicate")
    await assert_nothing_created(dx_api, dx_core)
    await assert_no_secret_stored(dx_core)


async def test_config_json_that_is_not_an_object_is_422(dx_api, dx_core):
    await make_demo(dx_api)
    status, body = await post_form(dx_api, "projects/demo/packages", [
        ("name", "p"), script("a.py", A_PY), json_file("config", "config.json", [1, 2])])
    assert_error(status, body, 422, "config.json", "object")
    await assert_nothing_created(dx_api, dx_core)


async def assert_unchanged(dx_api, before):
    status, after = await dx_api("projects/demo/packages/abc")
    assert status == 200
    assert after == {k: v for k, v in before.items() if k != "secrets"}


async def test_patch_with_unknown_fields_is_400_and_changes_nothing(dx_api):
    abc = await make_abc(dx_api)
    status, body = await dx_api("projects/demo/packages/abc", "PATCH", {"description": "x", "name": "renamed"})
    assert_error(status, body, 400, "name")
    await assert_unchanged(dx_api, abc)


async def test_patch_with_bad_json_is_400(dx_api):
    abc = await make_abc(dx_api)
    status, body = await dx_api("projects/demo/packages/abc", "PATCH", raw=b"{description: 1}")
    assert_error(status, body, 400, "JSON")
    await assert_unchanged(dx_api, abc)


async def test_patch_with_json_array_is_400(dx_api):
    abc = await make_abc(dx_api)
    status, body = await dx_api("projects/demo/packages/abc", "PATCH", raw=b'["description"]')
    assert_error(status, body, 400, "object")
    await assert_unchanged(dx_api, abc)


@pytest.mark.parametrize(
    "order",
    [["a.py", "b.py"], ["a.py", "b.py", "c.py", "c.py"], ["a.py", "b.py", "x.py"], "a.py,b.py,c.py",
     {"a.py": 1}, [1, "a.py", "b.py"], [None, None, None]],
    ids=["missing-one", "duplicate", "unknown", "string", "object", "number", "nulls"],
)
async def test_bad_script_order_is_400_and_changes_nothing(dx_api, order):
    abc = await make_abc(dx_api)
    status, body = await dx_api("projects/demo/packages/abc", "PATCH", {"script_order": order, "description": "x"})
    assert_error(status, body, 400, "script_order")
    await assert_unchanged(dx_api, abc)


@pytest.mark.parametrize("remove", ["a.py", [1], {"a.py": True}], ids=["string", "number", "object"])
async def test_bad_remove_scripts_is_400_and_changes_nothing(dx_api, remove):
    abc = await make_abc(dx_api)
    status, body = await dx_api("projects/demo/packages/abc", "PATCH", {"remove_scripts": remove})
    assert_error(status, body, 400, "remove_scripts")
    await assert_unchanged(dx_api, abc)


async def test_removing_an_unknown_script_is_404_and_changes_nothing(dx_api):
    abc = await make_abc(dx_api)
    status, body = await dx_api("projects/demo/packages/abc", "PATCH",
                                {"remove_scripts": ["a.py", "zzz.py"], "description": "x"})
    assert_error(status, body, 404, "zzz.py")
    await assert_unchanged(dx_api, abc)


async def test_patch_with_syntax_error_is_422_and_changes_nothing(dx_api, jp_fetch):
    abc = await make_abc(dx_api)
    status, body = await dx_api("projects/demo/packages/abc", "PATCH", {
        "description": "x", "scripts": [{"name": "a.py", "content": BROKEN_PY.decode()}]})
    assert_error(status, body, 422, "a.py", "syntax")
    await assert_unchanged(dx_api, abc)
    assert (await download(jp_fetch, "abc", "a.py")).body == A_PY


async def test_patch_with_config_not_an_object_is_422_and_changes_nothing(dx_api):
    abc = await make_abc(dx_api)
    status, body = await dx_api("projects/demo/packages/abc", "PATCH", {"config": "LOG_LEVEL=INFO"})
    assert_error(status, body, 422, "config")
    await assert_unchanged(dx_api, abc)


async def test_patch_multipart_with_secrets_json_among_scripts_is_refused(dx_api, dx_core):
    abc = await make_abc(dx_api)
    fields = [script("a.py", b"print('changed')\n"), json_file("scripts", "secrets.json", SEED_SECRETS_JSON)]
    status, body = await post_form(dx_api, "projects/demo/packages/abc", fields, method="PATCH")
    assert_error(status, body, 400, "secrets.json")
    await assert_unchanged(dx_api, abc)
    await assert_no_secret_stored(dx_core)


async def test_patch_multipart_with_unknown_field_is_400(dx_api):
    abc = await make_abc(dx_api)
    fields = [script("a.py", b"print('changed')\n"), ("name", "renamed")]
    status, body = await post_form(dx_api, "projects/demo/packages/abc", fields, method="PATCH")
    assert_error(status, body, 400, "name")
    await assert_unchanged(dx_api, abc)
