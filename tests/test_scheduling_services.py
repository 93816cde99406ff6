"""Scheduled jobs, events and the package manifest, at the service level (SQLite and PostgreSQL)."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from dx_jupyter.errors import Conflict, InvalidContent, InvalidInput, NotFound
from dx_jupyter.services.events import Caller, EventsService, EventTooDeep
from dx_jupyter.services.packages import Upload
from dx_jupyter.services.scheduler import SchedulerService
from dx_jupyter.store.models import ScheduledJob

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def pkg(backend):
    backend.projects.create("proj")
    return backend.packages.create("proj", "pkg", scripts=[Upload("a.py", b"print(1)\n")])


@pytest.fixture
def jobs(backend):
    return SchedulerService(backend.store)


@pytest.fixture
def events(backend):
    return EventsService(backend.store, max_depth=3)


def _manifest(backend, name, manifest, project="proj"):
    return backend.packages.create(project, name, scripts=[Upload("a.py", b"print(1)\n")],
                                   manifest=Upload("manifest.json", json.dumps(manifest).encode()))


def _at(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ----- jobs -----
def test_a_job_with_offsets_runs_once_after_them(jobs, pkg):
    job = jobs.create(pkg["id"], minutes=30, hours=1, days=1, parameters={"x": 1}, now=NOW)
    assert _at(job["next_run_at"]) == NOW + timedelta(days=1, hours=1, minutes=30)
    assert (job["cron_expression"], job["trigger"], job["source"], job["params"]) == (None, "scheduled", "script", {"x": 1})


def test_a_cron_expression_wins_over_the_offsets(jobs, pkg):
    job = jobs.create(pkg["id"], minutes=5, cron_expression="0 6 * * *", now=NOW)
    assert job["cron_expression"] == "0 6 * * *"
    assert _at(job["next_run_at"]) == datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)


def test_a_retry_job_records_its_trigger(jobs, pkg):
    assert jobs.create(pkg["id"], "retry", minutes=1)["trigger"] == "retry"


@pytest.mark.parametrize("kwargs,message", [
    ({"cron_expression": "61 * * * *"}, "not a valid cron expression"),
    ({"cron_expression": "* * * * * *"}, "not a valid cron expression"),
    ({"cron_expression": ""}, "non-empty string"),
    ({"minutes": -1}, "minutes must not be negative"),
    ({"hours": "1"}, "hours must be a number"),
    ({"days": True}, "days must be a number"),
    ({}, "give a delay"),
    ({"days": 100000}, "longer than the limit"),
    ({"minutes": 1, "parameters": [1]}, "params must be a JSON object"),
    ({"cron_expression": "* * * * *", "minutes": -5}, "minutes must not be negative"),
])
def test_bad_job_arguments_are_refused_and_nothing_is_stored(jobs, pkg, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        jobs.create(pkg["id"], **kwargs)
    assert jobs.list("proj", "pkg") == []


def test_a_job_of_an_unknown_package_is_refused(jobs, pkg):
    with pytest.raises(NotFound):
        jobs.create("0" * 32, minutes=1)


def test_jobs_are_listed_per_package_soonest_first(jobs, backend, pkg):
    backend.packages.create("proj", "other", scripts=[Upload("a.py", b"1\n")])
    late = jobs.create(pkg["id"], hours=2, now=NOW)
    soon = jobs.create(pkg["id"], minutes=2, now=NOW)
    jobs.create_for("proj", "other", minutes=1)
    assert [j["id"] for j in jobs.list("proj", "pkg")] == [soon["id"], late["id"]]


def test_deleting_a_job_removes_it_and_an_unknown_one_is_404(jobs, pkg):
    job = jobs.create(pkg["id"], minutes=1)
    jobs.delete("proj", "pkg", job["id"])
    assert jobs.list("proj", "pkg") == []
    with pytest.raises(NotFound, match="does not exist"):
        jobs.delete("proj", "pkg", job["id"])


def test_due_claims_a_one_shot_job_and_deletes_it(jobs, pkg):
    job = jobs.create(pkg["id"], minutes=1, parameters={"a": 2}, now=NOW)
    assert jobs.due(NOW) == []
    [due] = jobs.due(NOW + timedelta(minutes=1))
    assert (due.job_id, due.project, due.package, due.trigger, due.params, due.active) == (
        job["id"], "proj", "pkg", "scheduled", {"a": 2}, True)
    assert jobs.list("proj", "pkg") == []


def test_due_moves_a_cron_job_to_its_next_time(jobs, pkg):
    jobs.create(pkg["id"], cron_expression="*/15 * * * *", now=NOW)
    [due] = jobs.due(NOW + timedelta(minutes=16))
    [job] = jobs.list("proj", "pkg")
    assert _at(job["next_run_at"]) == NOW + timedelta(minutes=30)
    assert job["runs"] == 1 and jobs.due(NOW + timedelta(minutes=16)) == []


def test_concurrent_claims_fire_each_job_once(jobs, backend, pkg):
    for _ in range(20):
        jobs.create(pkg["id"], minutes=1, now=NOW)
    claimed, errors = [], []

    def claim():
        try:
            other = SchedulerService(backend.store)
            for _ in range(5):
                claimed.extend(d.job_id for d in other.due(NOW + timedelta(minutes=2), limit=3))
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(claimed) == 20 and len(set(claimed)) == 20


# ----- the manifest -----
def test_a_manifest_sets_the_package_fields(backend, pkg):
    out = _manifest(backend, "m", {"schedule": "0 6 * * *", "trigger_events": ["a.b", "c"], "active": False,
                                   "allow_manual_triggering": False, "description": "from manifest"})
    assert (out["schedule"], out["trigger_events"], out["active"], out["allow_manual_triggering"],
            out["description"]) == ("0 6 * * *", ["a.b", "c"], False, False, "from manifest")


def test_a_package_without_manifest_has_the_defaults(pkg):
    assert (pkg["schedule"], pkg["trigger_events"], pkg["active"], pkg["allow_manual_triggering"]) == (
        None, [], True, True)


def test_a_manifest_among_the_scripts_is_taken_as_the_manifest(backend, pkg):
    out = backend.packages.create("proj", "m", scripts=[
        Upload("a.py", b"1\n"), Upload("manifest.json", b'{"trigger_events": ["x"]}')])
    assert [s["name"] for s in out["scripts"]] == ["a.py"] and out["trigger_events"] == ["x"]


def test_a_manifest_schedule_becomes_a_manifest_job(backend, jobs, pkg):
    _manifest(backend, "m", {"schedule": "@hourly"})
    [job] = jobs.list("proj", "m")
    assert (job["source"], job["cron_expression"], job["trigger"]) == ("manifest", "@hourly", "scheduled")
    with pytest.raises(Conflict, match="manifest schedule"):
        jobs.delete("proj", "m", job["id"])


def test_patching_the_schedule_away_removes_its_job(backend, jobs, pkg):
    _manifest(backend, "m", {"schedule": "@hourly"})
    out = backend.packages.update("proj", "m", manifest={"schedule": None})
    assert out["schedule"] is None and jobs.list("proj", "m") == []


def test_patching_one_manifest_field_keeps_the_others(backend, pkg):
    _manifest(backend, "m", {"trigger_events": ["x"], "allow_manual_triggering": False})
    out = backend.packages.update("proj", "m", manifest={"active": False})
    assert (out["trigger_events"], out["allow_manual_triggering"], out["active"]) == (["x"], False, False)


@pytest.mark.parametrize("manifest,message", [
    ({"schedule": "every day"}, "not a valid cron expression"),
    ({"trigger_events": "x"}, "must be a list"),
    ({"trigger_events": ["bad type!"]}, "not a valid event type"),
    ({"active": "yes"}, "active must be true or false"),
    ({"entrypoint": "main.py"}, "not supported"),
    ({"surprise": 1}, "unknown fields"),
    ([1], "must hold a JSON object"),
])
def test_a_bad_manifest_is_refused_and_nothing_is_stored(backend, pkg, manifest, message):
    with pytest.raises(InvalidContent, match=message):
        _manifest(backend, "m", manifest)
    assert [p["name"] for p in backend.packages.list("proj")] == ["pkg"]


# ----- events -----
def test_an_event_is_recorded_in_cloudevents_shape(events):
    event = events.record("orders.created", data={"n": 1}, topic="t", reference_id="r-1")
    assert event["specversion"] == "1.0" and event["type"] == "orders.created"
    assert event["source"] == "/dx/api/events" and len(event["id"]) == 32 and event["time"].endswith("Z")
    assert (event["data"], event["topic"], event["reference_id"], event["depth"]) == ({"n": 1}, "t", "r-1", 1)
    assert events.list(limit=5) == [event]


@pytest.mark.parametrize("event_type", ["", "has space", ".starts-with-dot", "x" * 257, 3, None])
def test_a_bad_event_type_is_refused(events, event_type):
    with pytest.raises(InvalidInput, match="event_type"):
        events.record(event_type)


def test_event_data_must_be_an_object(events):
    with pytest.raises(InvalidInput, match="JSON object"):
        events.record("a", data=[1, 2])


def test_an_event_from_an_event_triggered_run_is_one_deeper(events, pkg):
    caller = Caller("e" * 32, pkg["id"], "proj", "pkg", event_depth=2)
    event = events.record("a", caller=caller)
    assert event["depth"] == 3 and event["source"] == "/dx/api/projects/proj/packages/pkg"
    assert event["sender_execution_id"] == "e" * 32


def test_an_event_past_the_max_depth_is_refused(events, pkg):
    with pytest.raises(EventTooDeep, match="the limit is 3"):
        events.record("a", caller=Caller("e" * 32, pkg["id"], "proj", "pkg", event_depth=3))
    assert events.list() == []


def test_an_event_targets_the_active_packages_that_list_its_type(backend, events, pkg):
    _manifest(backend, "yes", {"trigger_events": ["orders.created", "x"]})
    _manifest(backend, "off", {"trigger_events": ["orders.created"], "active": False})
    _manifest(backend, "other", {"trigger_events": ["orders.deleted"]})
    assert [t.package for t in events.targets("orders.created")] == ["yes"]


def test_an_event_is_claimed_once(events):
    event = events.record("a")
    assert events.pending() == [event["id"]]
    assert events.claim(event["id"])["dispatched"] is True
    assert events.claim(event["id"]) is None and events.pending() == []


def test_events_are_listed_newest_first_up_to_the_limit(events):
    ids = [events.record("a")["id"] for _ in range(3)]
    assert [e["id"] for e in events.list(limit=2)] == [ids[2], ids[1]]
    with pytest.raises(InvalidInput, match="limit"):
        events.list(limit=0)


def test_a_job_due_of_an_inactive_package_is_claimed_as_inactive(backend, jobs, pkg):
    jobs.create(pkg["id"], minutes=1, now=NOW)
    backend.packages.update("proj", "pkg", manifest={"active": False})
    [due] = jobs.due(NOW + timedelta(minutes=1))
    assert due.active is False


def test_jobs_go_with_their_package(backend, jobs, pkg):
    jobs.create(pkg["id"], minutes=1)
    backend.packages.delete("proj", "pkg")
    with backend.store.read() as session:
        assert session.query(ScheduledJob).count() == 0


def test_a_job_moved_into_the_past_in_the_store_is_due(backend, jobs, pkg):
    """The REST tests move a job's time in the store like this instead of waiting."""
    job = jobs.create(pkg["id"], days=1)
    with backend.store.write() as session:
        session.execute(update(ScheduledJob).where(ScheduledJob.id == job["id"]).values(next_run_at=NOW))
    assert [d.job_id for d in jobs.due(NOW)] == [job["id"]]
