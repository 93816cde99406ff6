"""The executions REST routes: listing, lookups, and refusals of bad input."""
from __future__ import annotations

from executions_support import make_package, make_project, run, start, wait_for

UNKNOWN = "0123456789abcdef0123456789abcdef"


async def three_runs(dx_api) -> list[str]:
    await make_package(dx_api, {"s.py": "print('x')\n"})
    ids = []
    for _ in range(3):
        ids.append((await run(dx_api))["id"])
    return ids


async def test_list_is_newest_first_with_total(dx_api):
    ids = await three_runs(dx_api)
    status, page = await dx_api("projects/demo/packages/pkg/executions")
    assert status == 200
    assert [e["id"] for e in page["executions"]] == ids[::-1]
    assert (page["total"], page["offset"], page["limit"]) == (3, 0, 50)
    assert all(e["project"] == "demo" and e["package"] == "pkg" for e in page["executions"])


async def test_list_pages_with_offset_and_limit(dx_api):
    ids = await three_runs(dx_api)
    newest_first = ids[::-1]
    _, first = await dx_api("projects/demo/packages/pkg/executions", params={"offset": 0, "limit": 2})
    _, second = await dx_api("projects/demo/packages/pkg/executions", params={"offset": 2, "limit": 2})
    assert [e["id"] for e in first["executions"]] == newest_first[:2]
    assert [e["id"] for e in second["executions"]] == newest_first[2:]
    assert first["total"] == second["total"] == 3
    _, past = await dx_api("projects/demo/packages/pkg/executions", params={"offset": 10})
    assert past["executions"] == [] and past["total"] == 3


async def test_list_shows_only_the_package_s_own_executions(dx_api):
    await make_package(dx_api, {"s.py": "pass\n"}, name="one")
    await make_package(dx_api, {"s.py": "pass\n"}, name="two")
    mine = await run(dx_api, "one")
    await run(dx_api, "two")
    _, page = await dx_api("projects/demo/packages/one/executions")
    assert [e["id"] for e in page["executions"]] == [mine["id"]]


async def test_list_refuses_a_bad_offset_or_limit(dx_api):
    await make_package(dx_api, {"s.py": "pass\n"})
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "ten"}):
        status, body = await dx_api("projects/demo/packages/pkg/executions", params=params)
        assert status == 400 and body["error"] == "invalid_input", params


async def test_list_of_an_unknown_package_is_404(dx_api):
    await make_project(dx_api)
    status, body = await dx_api("projects/demo/packages/nope/executions")
    assert status == 404 and "nope" in body["message"]


async def test_created_execution_is_201_with_pending_steps_and_run_params(dx_api):
    await make_package(dx_api, {"a.py": "pass\n", "b.py": "pass\n"})
    status, created = await dx_api("projects/demo/packages/pkg/executions", "POST", {"params": {"day": "mon"}})
    assert status == 201
    assert created["status"] == "pending" and created["trigger"] == "manual"
    assert created["params"] == {"day": "mon", "package_name": "pkg", "package_id": created["package_id"]}
    assert [(s["number"], s["script"], s["status"]) for s in created["steps"]] == [
        (1, "a.py", "pending"), (2, "b.py", "pending"),
    ]
    await wait_for(dx_api, created["id"])


async def test_unknown_execution_is_404(dx_api):
    for path in (f"executions/{UNKNOWN}", f"executions/{UNKNOWN}/steps", f"executions/{UNKNOWN}/steps/1/result"):
        status, body = await dx_api(path)
        assert status == 404 and body["error"] == "not_found", path


async def test_malformed_execution_id_is_a_json_404_naming_it(dx_api):
    for path in ("executions/not-an-id", "executions/not-an-id/steps", "executions/not-an-id/cancel"):
        method = "POST" if path.endswith("cancel") else "GET"
        status, body = await dx_api(path, method)
        assert status == 404 and body["error"] == "not_found", path
        assert "not-an-id" in body["message"], body


async def test_unknown_step_is_404(dx_api):
    await make_package(dx_api, {"s.py": "pass\n"})
    done = await run(dx_api)
    for n in (0, 2, 99999999999999999999):
        status, body = await dx_api(f"executions/{done['id']}/steps/{n}/result")
        assert status == 404 and body["error"] == "not_found", n


async def test_package_without_scripts_cannot_run_409(dx_api):
    await make_project(dx_api)
    assert (await dx_api("projects/demo/packages", "POST", {"name": "empty"}))[0] == 201
    status, body = await dx_api("projects/demo/packages/empty/executions", "POST")
    assert status == 409 and "no scripts" in body["message"]
    _, page = await dx_api("projects/demo/packages/empty/executions")
    assert page["total"] == 0


async def test_unknown_package_cannot_run_404(dx_api):
    await make_project(dx_api)
    status, body = await dx_api("projects/demo/packages/ghost/executions", "POST")
    assert status == 404


async def test_params_that_are_not_an_object_are_400(dx_api):
    await make_package(dx_api, {"s.py": "pass\n"})
    for params in ([1, 2], "text", 3):
        status, body = await dx_api("projects/demo/packages/pkg/executions", "POST", {"params": params})
        assert status == 400 and "params" in body["message"], params
    _, page = await dx_api("projects/demo/packages/pkg/executions")
    assert page["total"] == 0


async def test_params_that_are_not_json_values_are_400(dx_api):
    await make_package(dx_api, {"s.py": "pass\n"})
    status, body = await dx_api(
        "projects/demo/packages/pkg/executions", "POST", raw=b'{"params": {"x": NaN}}'
    )
    assert status == 400 and "params" in body["message"]


async def test_params_over_64_kib_are_413(dx_api):
    await make_package(dx_api, {"s.py": "pass\n"})
    status, body = await dx_api(
        "projects/demo/packages/pkg/executions", "POST", {"params": {"blob": "x" * 70_000}}
    )
    assert status == 413 and body["error"] == "too_large" and "65536" in body["message"]
    _, page = await dx_api("projects/demo/packages/pkg/executions")
    assert page["total"] == 0


async def test_body_that_is_not_an_object_or_has_unknown_fields_is_400(dx_api):
    await make_package(dx_api, {"s.py": "pass\n"})
    for raw in (b"[1]", b"not json", b'{"params": {}, "extra": 1}'):
        status, body = await dx_api("projects/demo/packages/pkg/executions", "POST", raw=raw)
        assert status == 400, raw


async def test_steps_route_lists_the_steps(dx_api):
    await make_package(dx_api, {"a.py": "pass\n", "b.py": "pass\n"})
    done = await run(dx_api)
    status, body = await dx_api(f"executions/{done['id']}/steps")
    assert status == 200 and body["steps"] == done["steps"]


async def test_execution_routes_need_jupyter_authentication(dx_api, jp_fetch):
    from tornado.httpclient import HTTPClientError

    await make_package(dx_api, {"s.py": "pass\n"})
    created = await start(dx_api)
    for path, method in ((("executions", created["id"]), "GET"),
                         (("projects", "demo", "packages", "pkg", "executions"), "POST")):
        try:
            await jp_fetch("dx", "api", *path, method=method, headers={"Authorization": ""},
                           body=b"{}" if method == "POST" else None)
        except HTTPClientError as err:
            assert err.code == 403, (path, err.code)
        else:
            raise AssertionError(f"{path} answered without credentials")
    await wait_for(dx_api, created["id"])
