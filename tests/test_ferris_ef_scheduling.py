"""context.scheduler and context.events outside a server run: local mode records them in files
beside ef_env.json and never calls a server; a store binding writes them to the store."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import ferris_ef
from dx_jupyter.services.events import EventsService
from dx_jupyter.services.packages import Upload
from dx_jupyter.services.scheduler import SchedulerService
from ferris_ef import FerrisError, context

EF_ENV = {"params": {"package_name": "some_package", "package_id": "123"}, "secrets": {}, "config": {}}


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "ef_env.json").write_text(json.dumps(EF_ENV))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EF_ENV", "local")
    monkeypatch.setenv("DX_API_URL", "http://127.0.0.1:9/never-called")
    ferris_ef.reset_context()
    yield tmp_path
    ferris_ef.reset_context()


def test_local_schedule_records_the_job_in_ef_scheduled_jobs_json(local: Path) -> None:
    job_id = context.scheduler.schedule(minutes=5, parameters={"x": 1})
    [job] = json.loads((local / "ef_scheduled_jobs.json").read_text())
    assert job["id"] == job_id and len(job_id) == 32
    assert (job["trigger"], job["minutes"], job["parameters"], job["package_name"]) == ("scheduled", 5, {"x": 1},
                                                                                        "some_package")
    assert job["run_at"] > job["created_at"]


def test_local_retry_with_cron_is_recorded_as_retry(local: Path) -> None:
    context.scheduler.schedule(hours=1)
    context.scheduler.retry(cron_expression="*/5 * * * *")
    jobs = json.loads((local / "ef_scheduled_jobs.json").read_text())
    assert [(j["trigger"], j["cron_expression"], j["run_at"]) for j in jobs][1] == ("retry", "*/5 * * * *", None)
    assert len(jobs) == 2


def test_local_events_are_recorded_as_cloudevents_in_ef_events_json(local: Path) -> None:
    event_id = context.events.send("orders.created", data={"order": 7}, topic="shop", reference_id="r1")
    [event] = json.loads((local / "ef_events.json").read_text())
    assert event["id"] == event_id
    assert (event["specversion"], event["type"], event["source"], event["data"], event["topic"],
            event["reference_id"]) == ("1.0", "orders.created", "local/some_package", {"order": 7}, "shop", "r1")
    assert event["time"].endswith("Z")


def test_local_mode_logs_that_it_does_not_run_jobs_or_events(local: Path, capsys) -> None:
    context.scheduler.schedule(minutes=1)
    context.events.send("a")
    err = capsys.readouterr().err
    assert "local mode does not run scheduled jobs" in err and "local mode does not trigger packages" in err


def test_local_files_are_private(local: Path) -> None:
    context.scheduler.schedule(minutes=1)
    context.events.send("a")
    for name in ("ef_scheduled_jobs.json", "ef_events.json"):
        assert (local / name).stat().st_mode & 0o777 == 0o600


def test_a_broken_local_jobs_file_is_a_clear_error(local: Path) -> None:
    (local / "ef_scheduled_jobs.json").write_text('{"not": "a list"}')
    with pytest.raises(FerrisError, match="must hold a JSON list"):
        context.scheduler.schedule(minutes=1)


# ----- store binding -----
@pytest.fixture
def bound(backend, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("EF_ENV", raising=False)
    backend.projects.create("proj")
    backend.packages.create("proj", "pkg", scripts=[Upload("a.py", b"print(1)\n")])
    ferris_ef.reset_context()
    with ferris_ef.use_store(backend, project="proj", package="pkg"):
        yield backend
    ferris_ef.reset_context()


def test_a_store_binding_schedules_a_job_in_the_store(bound) -> None:
    job_id = context.scheduler.retry(cron_expression="0 6 * * *", parameters={"p": 1})
    [job] = SchedulerService(bound.store).list("proj", "pkg")
    assert (job["id"], job["trigger"], job["cron_expression"], job["params"]) == (job_id, "retry", "0 6 * * *", {"p": 1})


def test_a_store_binding_refuses_a_bad_cron_with_the_servers_message(bound) -> None:
    with pytest.raises(FerrisError, match="not a valid cron expression"):
        context.scheduler.schedule(cron_expression="61 * * * *")


def test_a_store_binding_records_an_event_for_a_server_to_dispatch(bound) -> None:
    event_id = context.events.send("orders.created", data={"n": 1})
    [event] = EventsService(bound.store).list()
    assert (event["id"], event["dispatched"], event["source"]) == (event_id, False, "/dx/api/projects/proj/packages/pkg")
    assert EventsService(bound.store).pending() == [event_id]
