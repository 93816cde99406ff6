"""ferris_ef.context itself: the backend choice and the parts that are not in this version."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import ferris_ef
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


@pytest.mark.parametrize("name", ["scheduler", "events"])
def test_scheduler_and_events_say_they_are_not_available_yet(name: str) -> None:
    with pytest.raises(NotAvailableError, match=f"context.{name} is not available yet"):
        getattr(context, name)


@pytest.mark.parametrize("name", ["scheduler", "events"])
def test_scheduler_and_events_are_attribute_errors(name: str) -> None:
    with pytest.raises(AttributeError):
        getattr(context, name)
    assert not hasattr(context, name)


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
