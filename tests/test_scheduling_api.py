"""context.scheduler and context.events end to end: scripts schedule jobs and send events through
the runtime routes, the server's scheduler loop fires the jobs, events trigger the packages whose
manifest lists their type; plus the REST routes for jobs and events, and their bad input."""
from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from dx_jupyter.store.models import ScheduledJob, utcnow
from executions_support import make_package, output, run, start, wait_for

# Jobs are moved into the past in the store instead of waiting; the loop then runs every 0.1 s.
FAST = {"scheduler_interval": 0.1}


@pytest.fixture
def dx_config():
    return dict(FAST)


PROBE = """\
import json, urllib.error, urllib.request
from ferris_ef._context import current_backend

backend = current_backend()

def call(path, body, token=None):
    req = urllib.request.Request(backend._api_url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"X-DX-Token": token or backend._token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())
"""


async def package_with_manifest(dx_api, name, scripts, manifest, project="demo"):
    status, _ = await dx_api(f"projects/{project}")
    if status == 404:
        assert (await dx_api("projects", "POST", {"name": project}))[0] == 201
    body = {"name": name, "scripts": [{"name": n, "content": s} for n, s in scripts.items()],
            "manifest": manifest}
    status, package = await dx_api(f"projects/{project}/packages", "POST", body)
    assert status == 201, package
    return package


async def executions_of(dx_api, package, project="demo"):
    status, page = await dx_api(f"projects/{project}/packages/{package}/executions")
    assert status == 200, page
    return page["executions"]


async def wait_for_execution(dx_api, package, trigger, count=1, timeout=30.0):
    """Wait until `package` has `count` finished executions with `trigger`; return them, oldest first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = [e for e in await executions_of(dx_api, package) if e["trigger"] == trigger]
        if len(found) >= count:
            return [await wait_for(dx_api, e["id"]) for e in reversed(found)]
        assert loop.time() < deadline, f"no {trigger} execution of {package} after {timeout} s"
        await asyncio.sleep(0.05)


def make_due(dx_core, job_id):
    with dx_core.backend.store.write() as session:
        session.execute(update(ScheduledJob).where(ScheduledJob.id == job_id)
                        .values(next_run_at=utcnow() - timedelta(seconds=1)))


async def jobs_of(dx_api, package="pkg", project="demo"):
    status, body = await dx_api(f"projects/{project}/packages/{package}/jobs")
    assert status == 200, body
    return body["jobs"]


SCHEDULE_ONCE = """\
from ferris_ef import context, get_param
if get_param("fired") is None:
    print(context.scheduler.{call})
else:
    print("fired", get_param("fired"))
"""


# ----- context.scheduler -----
async def test_a_script_schedules_a_cron_job_that_fires_and_stays(dx_api, dx_core):
    await make_package(dx_api, {"s.py": SCHEDULE_ONCE.format(
        call="schedule(cron_expression='*/5 * * * *', parameters={'fired': 'cron'})")})
    done = await run(dx_api)
    assert done["status"] == "completed", done
    job_id = (await output(dx_api, done["id"]))["output"].strip()
    [job] = await jobs_of(dx_api)
    assert (job["id"], job["cron_expression"], job["params"], job["created_by_execution"]) == (
        job_id, "*/5 * * * *", {"fired": "cron"}, done["id"])
    make_due(dx_core, job_id)
    [fired] = await wait_for_execution(dx_api, "pkg", "scheduled")
    assert fired["status"] == "completed" and fired["params"]["fired"] == "cron"
    assert fired["params"]["package_name"] == "pkg"
    assert (await output(dx_api, fired["id"]))["output"] == "fired cron\n"
    [job] = await jobs_of(dx_api)
    assert job["runs"] == 1 and job["next_run_at"] > fired["created_at"]


async def test_a_job_in_minutes_fires_once_then_is_gone(dx_api, dx_core):
    await make_package(dx_api, {"s.py": SCHEDULE_ONCE.format(call="schedule(minutes=10, parameters={'fired': 1})")})
    done = await run(dx_api)
    job_id = (await output(dx_api, done["id"]))["output"].strip()
    [job] = await jobs_of(dx_api)
    assert job["id"] == job_id and job["cron_expression"] is None
    make_due(dx_core, job_id)
    [fired] = await wait_for_execution(dx_api, "pkg", "scheduled")
    assert fired["params"]["fired"] == 1
    assert await jobs_of(dx_api) == []


async def test_retry_starts_an_execution_with_the_trigger_retry(dx_api, dx_core):
    await make_package(dx_api, {"s.py": SCHEDULE_ONCE.format(call="retry(hours=1, parameters={'fired': 'again'})")})
    done = await run(dx_api)
    job_id = (await output(dx_api, done["id"]))["output"].strip()
    assert (await jobs_of(dx_api))[0]["trigger"] == "retry"
    make_due(dx_core, job_id)
    [fired] = await wait_for_execution(dx_api, "pkg", "retry")
    assert fired["params"]["fired"] == "again" and fired["status"] == "completed"


async def test_a_manifest_schedule_runs_the_package(dx_api, dx_core):
    await package_with_manifest(dx_api, "cron", {"s.py": "print('tick')\n"}, {"schedule": "0 6 * * *"})
    [job] = await jobs_of(dx_api, "cron")
    assert (job["source"], job["cron_expression"]) == ("manifest", "0 6 * * *")
    make_due(dx_core, job["id"])
    [fired] = await wait_for_execution(dx_api, "cron", "scheduled")
    assert fired["status"] == "completed"


async def test_a_due_job_of_an_inactive_package_does_not_run(dx_api, dx_core):
    await make_package(dx_api, {"s.py": SCHEDULE_ONCE.format(call="schedule(minutes=5, parameters={'fired': 1})")})
    done = await run(dx_api)
    job_id = (await output(dx_api, done["id"]))["output"].strip()
    status, _ = await dx_api("projects/demo/packages/pkg", "PATCH", {"manifest": {"active": False}})
    assert status == 200
    make_due(dx_core, job_id)
    for _ in range(100):  # the loop claims (and drops) it
        if not await jobs_of(dx_api):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    assert await jobs_of(dx_api) == []
    assert [e["trigger"] for e in await executions_of(dx_api, "pkg")] == ["manual"]


async def test_scheduler_arguments_are_checked_by_the_server(dx_api):
    await make_package(dx_api, {"probe.py": PROBE + (
        "for body in ({'cron_expression': '61 * * * *'}, {'minutes': -1}, {}, {'minutes': 1, 'when': 2},\n"
        "             {'minutes': 1, 'trigger': 'manual'}, {'minutes': 1, 'parameters': [1]}):\n"
        "    status, answer = call('/runtime/scheduler/jobs', body)\n"
        "    print(status, answer['message'])\n"
    )})
    done = await run(dx_api)
    lines = (await output(dx_api, done["id"]))["output"].splitlines()
    assert [line.split()[0] for line in lines] == ["400"] * 6
    assert "not a valid cron expression" in lines[0] and "minutes must not be negative" in lines[1]
    assert "give a delay" in lines[2] and "unknown fields ['when']" in lines[3]
    assert 'trigger must be "scheduled" or "retry"' in lines[4] and "params must be a JSON object" in lines[5]
    assert await jobs_of(dx_api) == []


async def test_a_bad_cron_from_a_script_fails_the_step_with_a_clear_message(dx_api):
    await make_package(dx_api, {"s.py": "from ferris_ef import context\n"
                                        "context.scheduler.schedule(cron_expression='*/5 * * *')\n"})
    done = await run(dx_api)
    assert done["status"] == "failed"
    assert "is not a cron expression: use 5 fields" in (await output(dx_api, done["id"]))["output"]


# ----- context.events -----
SENDER = """\
from ferris_ef import context
print(context.events.send("orders.created", data={"order": 7}, topic="shop", reference_id="ref-1"))
"""
RECEIVER = """\
from ferris_ef import get_param
print("order", get_param("order"), get_param("package_name"))
"""


async def test_an_event_from_a_script_triggers_a_package_that_lists_its_type(dx_api):
    await make_package(dx_api, {"send.py": SENDER}, name="sender")
    await package_with_manifest(dx_api, "receiver", {"r.py": RECEIVER}, {"trigger_events": ["orders.created"]})
    done = await run(dx_api, "sender")
    event_id = (await output(dx_api, done["id"]))["output"].strip()
    [triggered] = await wait_for_execution(dx_api, "receiver", "event")
    assert triggered["status"] == "completed"
    assert triggered["params"] == {"order": 7, "package_name": "receiver", "package_id": triggered["package_id"]}
    assert (await output(dx_api, triggered["id"]))["output"] == "order 7 receiver\n"
    status, body = await dx_api("events", params={"limit": 5})
    [event] = [e for e in body["events"] if e["id"] == event_id]
    assert (event["type"], event["data"], event["topic"], event["reference_id"], event["depth"]) == (
        "orders.created", {"order": 7}, "shop", "ref-1", 1)
    assert event["source"] == "/dx/api/projects/demo/packages/sender"
    assert event["sender_execution_id"] == done["id"]
    assert event["triggered"] == [{"project": "demo", "package": "receiver", "execution_id": triggered["id"]}]


async def test_an_inactive_package_is_not_triggered_by_events(dx_api):
    await package_with_manifest(dx_api, "on", {"r.py": RECEIVER}, {"trigger_events": ["ping"]})
    await package_with_manifest(dx_api, "off", {"r.py": RECEIVER}, {"trigger_events": ["ping"], "active": False})
    status, event = await dx_api("events", "POST", {"event_type": "ping", "data": {"order": 1}})
    assert status == 201, event
    assert [t["package"] for t in event["triggered"]] == ["on"]
    await wait_for_execution(dx_api, "on", "event")
    assert await executions_of(dx_api, "off") == []


@pytest.mark.parametrize("dx_config", [{**FAST, "max_event_depth": 2}])
async def test_an_event_chain_deeper_than_the_limit_is_refused(dx_api):
    loop = "from ferris_ef import context\ncontext.events.send('loop', data={'n': 1})\nprint('sent')\n"
    await package_with_manifest(dx_api, "looper", {"l.py": loop}, {"trigger_events": ["loop"]})
    status, first = await dx_api("events", "POST", {"event_type": "loop"})
    assert status == 201 and first["depth"] == 1
    runs = await wait_for_execution(dx_api, "looper", "event", count=2)
    assert runs[0]["status"] == "completed"  # depth 1 sends the event of depth 2
    assert runs[1]["status"] == "failed"     # depth 2 may not send a third
    out = (await output(dx_api, runs[1]["id"]))["output"]
    assert "event 'loop' refused" in out and "the limit is 2" in out and "(HTTP 409)" in out
    await asyncio.sleep(0.3)
    assert len(await executions_of(dx_api, "looper")) == 2


async def test_event_arguments_are_checked_by_the_server(dx_api):
    await make_package(dx_api, {"probe.py": PROBE + (
        "for body in ({'event_type': 'bad type'}, {}, {'event_type': 'a', 'data': [1]},\n"
        "             {'event_type': 'a', 'extra': 1}, {'event_type': 'a', 'topic': ''}):\n"
        "    status, answer = call('/runtime/events', body)\n"
        "    print(status, answer['message'])\n"
    )})
    done = await run(dx_api)
    lines = (await output(dx_api, done["id"]))["output"].splitlines()
    assert [line.split()[0] for line in lines] == ["400"] * 5
    assert "not a valid event type" in lines[0] and "needs an event_type" in lines[1]
    assert "JSON object" in lines[2] and "unknown fields ['extra']" in lines[3] and "topic" in lines[4]


# ----- the runtime routes' credentials -----
async def test_runtime_routes_refuse_a_missing_or_ended_token(dx_api):
    for path, body in (("runtime/scheduler/jobs", {"minutes": 1}), ("runtime/events", {"event_type": "a"})):
        status, answer = await dx_api(path, "POST", body, headers={"X-DX-Token": "not-a-token"})
        assert status == 403 and "unknown or its execution has ended" in answer["message"]


async def test_runtime_routes_refuse_the_kernel_token(dx_api, dx_core):
    status, answer = await dx_api("runtime/events", "POST", {"event_type": "a"},
                                  headers={"X-DX-Token": dx_core.kernel_token})
    assert status == 403 and "from a package script" in answer["message"]


async def test_a_script_cannot_schedule_for_another_package(dx_api):
    await make_package(dx_api, {"probe.py": PROBE + (
        "print(call('/runtime/scheduler/jobs?project=demo&package=other', {'minutes': 1})[0])\n")})
    await make_package(dx_api, {"s.py": "pass\n"}, name="other")
    done = await run(dx_api)
    assert (await output(dx_api, done["id"]))["output"] == "403\n"
    assert await jobs_of(dx_api, "other") == []


# ----- the manifest and manual runs -----
async def test_a_manual_run_is_409_when_the_manifest_forbids_it(dx_api):
    await package_with_manifest(dx_api, "auto", {"s.py": "pass\n"}, {"allow_manual_triggering": False})
    status, answer = await dx_api("projects/demo/packages/auto/executions", "POST", None)
    assert status == 409 and "does not allow manual runs" in answer["message"]
    assert await executions_of(dx_api, "auto") == []


async def test_a_manual_run_of_a_forbidding_package_is_also_refused_to_kernels(dx_api, dx_core):
    await package_with_manifest(dx_api, "auto", {"s.py": "pass\n"}, {"allow_manual_triggering": False})
    status, answer = await dx_api("runtime/kernel/projects/demo/packages/auto/executions", "POST", None,
                                  headers={"X-DX-Token": dx_core.kernel_token})
    assert status == 409 and "allow_manual_triggering" in answer["message"]


async def test_a_manifest_file_in_a_multipart_upload_sets_the_package_fields(dx_api):
    from api_helpers import create_project, json_file, post_form, script

    await create_project(dx_api)
    status, body = await post_form(dx_api, "projects/demo/packages", [
        ("name", "m"), script("a.py", b"pass\n"),
        json_file("manifest", "manifest.json", {"trigger_events": ["x.y"], "schedule": "@daily"})])
    assert status == 201, body
    assert (body["trigger_events"], body["schedule"], body["active"]) == (["x.y"], "@daily", True)


async def test_patch_changes_the_manifest_fields(dx_api):
    await package_with_manifest(dx_api, "m", {"s.py": "pass\n"}, {"trigger_events": ["a"]})
    status, body = await dx_api("projects/demo/packages/m", "PATCH",
                                {"manifest": {"trigger_events": ["b"], "allow_manual_triggering": False}})
    assert status == 200, body
    assert (body["trigger_events"], body["allow_manual_triggering"], body["active"]) == (["b"], False, True)


async def test_a_bad_manifest_is_422_and_stores_nothing(dx_api):
    await make_package(dx_api, {"s.py": "pass\n"})
    status, body = await dx_api("projects/demo/packages", "POST",
                                {"name": "bad", "manifest": {"schedule": "soon"}})
    assert status == 422 and "not a valid cron expression" in body["message"]
    status, body = await dx_api("projects/demo/packages", "POST", {"name": "bad", "manifest": [1]})
    assert status == 400 and "manifest must be a JSON object" in body["message"]
    assert (await dx_api("projects/demo/packages/bad"))[0] == 404


# ----- REST: jobs and events -----
async def test_jobs_of_an_unknown_package_are_404(dx_api):
    await make_package(dx_api, {"s.py": "pass\n"})
    status, body = await dx_api("projects/demo/packages/nope/jobs")
    assert status == 404 and "does not exist" in body["message"]


async def test_a_job_is_deleted_over_rest_and_an_unknown_one_is_404(dx_api):
    await make_package(dx_api, {"s.py": SCHEDULE_ONCE.format(call="schedule(days=1)")})
    await run(dx_api)
    [job] = await jobs_of(dx_api)
    status, _ = await dx_api(f"projects/demo/packages/pkg/jobs/{job['id']}", "DELETE")
    assert status == 204 and await jobs_of(dx_api) == []
    status, body = await dx_api(f"projects/demo/packages/pkg/jobs/{job['id']}", "DELETE")
    assert status == 404 and "does not exist" in body["message"]


async def test_the_manifest_schedule_job_cannot_be_deleted_over_rest(dx_api):
    await package_with_manifest(dx_api, "cron", {"s.py": "pass\n"}, {"schedule": "@hourly"})
    [job] = await jobs_of(dx_api, "cron")
    status, body = await dx_api(f"projects/demo/packages/cron/jobs/{job['id']}", "DELETE")
    assert status == 409 and "manifest schedule" in body["message"]


async def test_sending_an_event_by_hand_refuses_bad_input(dx_api):
    cases = [({"event_type": "no spaces"}, "not a valid event type"),
             ({"event_type": "a", "data": "x"}, "JSON object"),
             ({"type": "a"}, "unknown fields"),
             ({}, "needs an event_type")]
    for body, message in cases:
        status, answer = await dx_api("events", "POST", body)
        assert status == 400 and message in answer["message"], (body, answer)
    status, answer = await dx_api("events", params={"limit": "0"})
    assert status == 400 and "limit" in answer["message"]
    assert (await dx_api("events"))[1] == {"events": []}


async def test_events_are_listed_newest_first(dx_api):
    for n in range(3):
        assert (await dx_api("events", "POST", {"event_type": f"t{n}"}))[0] == 201
    status, body = await dx_api("events", params={"limit": "2"})
    assert status == 200 and [e["type"] for e in body["events"]] == ["t2", "t1"]
    status, body = await dx_api("events", params={"type": "t0"})
    assert [e["type"] for e in body["events"]] == ["t0"]


async def test_an_event_recorded_without_a_server_is_dispatched_by_the_loop(dx_api, dx_core):
    from dx_jupyter.services.events import EventsService

    await package_with_manifest(dx_api, "receiver", {"r.py": RECEIVER}, {"trigger_events": ["offline"]})
    EventsService(dx_core.backend.store).record("offline", data={"order": 3})
    [triggered] = await wait_for_execution(dx_api, "receiver", "event")
    assert triggered["params"]["order"] == 3


async def test_executions_started_by_hand_still_work(dx_api):
    """The manifest defaults keep the manual flow as it was."""
    await make_package(dx_api, {"s.py": "print('hi')\n"})
    execution = await start(dx_api)
    assert (await wait_for(dx_api, execution["id"]))["status"] == "completed"
    assert json.dumps(execution["trigger"]) == '"manual"'


async def test_job_event_and_package_answers_match_the_openapi_schemas(dx_api, dx_core):
    from test_openapi import check

    await package_with_manifest(dx_api, "m", {"s.py": "pass\n"}, {"schedule": "@hourly", "trigger_events": ["a"]})
    check("/projects/{project}/packages/{package}", "get", *(await dx_api("projects/demo/packages/m")))
    check("/projects/{project}/packages/{package}/jobs", "get", *(await dx_api("projects/demo/packages/m/jobs")))
    status, event = await dx_api("events", "POST", {"event_type": "a", "data": {"x": 1}, "topic": "t"})
    check("/events", "post", status, event)
    check("/events", "get", *(await dx_api("events")))
    check("/events", "post", *(await dx_api("events", "POST", {"event_type": "bad type"})))
    check("/projects/{project}/packages/{package}/executions", "post",
          *(await dx_api("projects/demo/packages/m/executions", "POST", None)))
