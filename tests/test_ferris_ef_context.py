"""ferris_ef.context itself: the backend choice, and the scheduler/events argument checks."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import ferris_ef
import ferris_ef.backends.base
from ferris_ef import FerrisError, NotAvailableError, context


@pytest.fixture(autouse=True)
def no_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EF_ENV", raising=False)
    ferris_ef.reset_context()
    yield
    ferris_ef.reset_context()


def test_without_any_context_the_error_names_the_three_ways_to_get_one() -> None:
    with pytest.raises(FerrisError) as err:
        context.secrets.get("X")
    message = err.value.message
    assert "ferris_ef.launch" in message and "EF_ENV=local" in message and "use_store" in message


def test_importing_ferris_ef_needs_no_context() -> None:
    assert repr(context) == "<ferris_ef context (not chosen yet)>"


def test_scheduler_and_events_are_attributes_of_the_context() -> None:
    assert repr(context.scheduler) == "<ferris_ef context.scheduler>"
    assert repr(context.events) == "<ferris_ef context.events>"
    assert {"scheduler", "events"} <= set(dir(context))


class _NoSchedulingBackend(ferris_ef.backends.base.ContextBackend):
    """A backend that does not provide scheduling, as the notebook kernel backend for now."""

    mode = "kernel"
    params = package = config = get_state = lambda self: {}
    get_secret = lambda self, name: None  # noqa: E731
    set_secret = lambda self, name, value, scope: {}  # noqa: E731
    put_state = lambda self, key, value: None  # noqa: E731


@pytest.mark.parametrize("call,name", [
    (lambda: context.scheduler.schedule(minutes=1), "scheduler"),
    (lambda: context.scheduler.retry(minutes=1), "scheduler"),
    (lambda: context.events.send("a"), "events"),
])
def test_a_backend_without_scheduling_says_to_use_a_package_script(monkeypatch, call, name) -> None:
    monkeypatch.setattr(ferris_ef._context, "_backend", _NoSchedulingBackend())
    with pytest.raises(NotAvailableError, match=f"context.{name} is not available in kernel mode: .* package script"):
        call()


@pytest.mark.parametrize("kwargs,message", [
    ({"minutes": -1}, "minutes must not be negative"),
    ({"hours": "2"}, "hours must be a number"),
    ({}, "give a delay"),
    ({"cron_expression": "* * *"}, "not a cron expression"),
    ({"minutes": 1, "parameters": [1]}, "parameters must be a dict"),
])
def test_scheduler_arguments_are_checked_before_any_context_is_needed(kwargs, message) -> None:
    with pytest.raises(FerrisError, match=message):
        context.scheduler.schedule(**kwargs)


@pytest.mark.parametrize("args,message", [
    (("bad type",), "not a valid event type"),
    (("a", None, [1]), "data must be a dict"),
    (("a", ""), "event_source must be a non-empty string"),
])
def test_event_arguments_are_checked_before_any_context_is_needed(args, message) -> None:
    with pytest.raises(FerrisError, match=message):
        context.events.send(*args)


def test_an_unknown_attribute_is_a_plain_attribute_error() -> None:
    with pytest.raises(AttributeError):
        context.nothing_like_this  # noqa: B018


def test_the_backend_is_chosen_at_first_use_not_at_import(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ef_env.json").write_text(json.dumps(
        {"params": {"package_name": "p", "package_id": "1"}, "secrets": {}, "config": {}}))
    monkeypatch.setenv("EF_ENV", "local")
    assert context.package.name == "p"
    assert repr(context) == "<ferris_ef context (local: package 'p')>"


def test_state_put_rejects_a_key_that_is_not_a_string() -> None:
    with pytest.raises(FerrisError, match="state key must be a non-empty string"):
        context.state.put(3, "v")


def test_secrets_get_rejects_a_name_that_is_not_a_string() -> None:
    with pytest.raises(FerrisError, match="secret name must be a non-empty string"):
        context.secrets.get(None)
