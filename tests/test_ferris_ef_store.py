"""ferris_ef bound to a real store (`use_store`), and the state service behind `context.state`."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

import ferris_ef
from dx_jupyter.backend import Backend, open_backend
from dx_jupyter.errors import InvalidInput, NotFound, TooLarge
from dx_jupyter.services.packages import Upload
from dx_jupyter.services.state import StateService
from dx_jupyter.store.models import PackageState
from ferris_ef import FerrisError, context, get_param, get_secret


@pytest.fixture
def backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    monkeypatch.delenv("EF_ENV", raising=False)
    ferris_ef.reset_context()
    b = open_backend(f"sqlite:///{tmp_path}/dx.db", os.urandom(32))
    b.projects.create("demo")
    b.projects.create("other")
    b.packages.create("demo", "pk", scripts=[Upload("a.py", b"print(1)\n")],
                      secrets=Upload("secrets.json", json.dumps({"DB_NAME": "pkg_db", "ONLY_PKG": 1}).encode()),
                      config={"LOG_LEVEL": "ERROR", "BATCH": 3})
    b.packages.create("demo", "sibling")
    b.secrets.upload(json.dumps({"DB_NAME": "proj_db", "PROJ": "p"}).encode(), "project", "demo")
    b.secrets.upload(json.dumps({"DB_NAME": "plat_db", "PROJ": "x", "PLAT": [1]}).encode(), "platform")
    yield b
    ferris_ef.reset_context()
    b.close()


@pytest.fixture
def bound(backend: Backend) -> Iterator[Backend]:
    with ferris_ef.use_store(backend, project="demo", package="pk", params={"day": "mon"}):
        yield backend


# ----- secrets -----
def test_get_resolves_package_then_project_then_platform(bound: Backend) -> None:
    assert [get_secret(n) for n in ("DB_NAME", "PROJ", "PLAT", "ONLY_PKG")] == ["pkg_db", "p", [1], 1]


def test_a_missing_secret_is_none(bound: Backend) -> None:
    assert context.secrets.get("NOPE") is None


def test_a_project_binding_reads_project_then_platform(backend: Backend) -> None:
    with ferris_ef.use_store(backend, project="demo"):
        assert (get_secret("DB_NAME"), get_secret("ONLY_PKG")) == ("proj_db", None)


def test_set_in_project_scope_is_stored_for_every_package_of_the_project(bound: Backend) -> None:
    info = context.secrets.set("project_secret", {"somekey": "someval"}, "project")
    assert (info["name"], info["scope"], info["version"]) == ("project_secret", "project", 1)
    assert bound.secrets.resolve("project_secret", "demo", "sibling") == {"somekey": "someval"}
    assert bound.secrets.resolve("project_secret", "other") is None


def test_set_in_platform_scope_is_stored_for_everyone(bound: Backend) -> None:
    context.secrets.set(name="platform_secret", value="v", context="platform")
    assert bound.secrets.resolve("platform_secret", "other") == "v"


def test_set_with_service_writes_the_packages_own_scope(bound: Backend) -> None:
    context.secrets.set("S", 5, "service")
    assert [s.name for s in bound.secrets.list("package", "demo", "pk")] == ["DB_NAME", "ONLY_PKG", "S"]
    assert bound.secrets.resolve("S", "demo", "sibling") is None


def test_set_returns_metadata_and_never_the_value(bound: Backend) -> None:
    info = context.secrets.set("S", "hidden-value", "project")
    assert "hidden-value" not in json.dumps(info)


def test_a_bad_secret_name_is_a_ferris_error_with_the_services_message(bound: Backend) -> None:
    with pytest.raises(FerrisError, match="secret name '9lives' is not valid") as err:
        context.secrets.set("9lives", 1, "project")
    assert err.value.kind == "invalid_input"


def test_an_unknown_scope_is_a_ferris_error(bound: Backend) -> None:
    with pytest.raises(FerrisError, match="unknown secret context"):
        context.secrets.set("S", 1, "universe")


# ----- params, package, config, logging -----
def test_params_hold_package_name_id_and_the_given_params(bound: Backend) -> None:
    pkg_id = bound.packages.get_id("demo", "pk")
    assert context.params == {"day": "mon", "package_name": "pk", "package_id": pkg_id}
    assert get_param("day") == "mon"


def test_package_and_config_come_from_the_store(bound: Backend) -> None:
    assert (context.package.name, context.package.id) == ("pk", bound.packages.get_id("demo", "pk"))
    assert context.config == {"LOG_LEVEL": "ERROR", "BATCH": 3}


def test_logging_level_comes_from_the_package_config(bound: Backend) -> None:
    import logging

    assert (context.logging.name, context.logging.level) == ("pk", logging.ERROR)


def test_binding_an_unknown_package_is_a_clear_error(backend: Backend) -> None:
    with pytest.raises(FerrisError, match="package 'nope' does not exist in project 'demo'"):
        ferris_ef.use_store(backend, project="demo", package="nope")


def test_a_package_without_its_project_is_refused(backend: Backend) -> None:
    with pytest.raises(FerrisError, match="give project="):
        ferris_ef.use_store(backend, package="pk")


def test_leaving_the_with_block_unbinds_the_store(backend: Backend) -> None:
    with ferris_ef.use_store(backend, project="demo", package="pk"):
        assert get_secret("DB_NAME") == "pkg_db"
    with pytest.raises(FerrisError, match="no context"):
        get_secret("DB_NAME")


def test_a_new_binding_replaces_the_old_one(backend: Backend) -> None:
    ferris_ef.use_store(backend, project="demo", package="pk")
    assert get_secret("DB_NAME") == "pkg_db"
    ferris_ef.use_store(backend, project="demo")
    assert get_secret("DB_NAME") == "proj_db"


def test_ef_env_local_wins_over_a_store_binding_with_a_warning(
        backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "local"
    folder.mkdir()
    (folder / "ef_env.json").write_text(json.dumps(
        {"params": {"package_name": "loc", "package_id": "1"}, "secrets": {"DB_NAME": "local_db"}, "config": {}}))
    monkeypatch.chdir(folder)
    monkeypatch.setenv("EF_ENV", "local")
    with pytest.warns(UserWarning, match="EF_ENV=local is set"):
        ferris_ef.use_store(backend, project="demo", package="pk")
    assert get_secret("DB_NAME") == "local_db"


# ----- state through the store -----
def test_state_is_empty_before_the_first_put(bound: Backend) -> None:
    assert context.state.get() == {}


def test_state_put_persists_in_the_store(bound: Backend) -> None:
    context.state.put("cursor", {"page": 2})
    context.state.put("runs", 1)
    pkg_id = bound.packages.get_id("demo", "pk")
    assert StateService(bound.store).get(pkg_id) == {"cursor": {"page": 2}, "runs": 1}
    assert context.state.get() == {"cursor": {"page": 2}, "runs": 1}


def test_state_without_a_package_binding_is_a_clear_error(backend: Backend) -> None:
    with ferris_ef.use_store(backend, project="demo"):
        with pytest.raises(FerrisError, match="context.state needs a package"):
            context.state.get()


# ----- StateService -----
def package_id(backend: Backend) -> str:
    return backend.packages.get_id("demo", "pk")


def test_state_service_put_returns_the_whole_new_state(backend: Backend) -> None:
    service = StateService(backend.store)
    service.put(package_id(backend), "a", 1)
    assert service.put(package_id(backend), "b", None) == {"a": 1, "b": None}


def test_state_service_bumps_the_version_on_every_put(backend: Backend) -> None:
    service = StateService(backend.store)
    for i in range(3):
        service.put(package_id(backend), "a", i)
    with backend.store.read() as session:
        assert session.get(PackageState, package_id(backend)).version == 3


def test_state_service_keeps_every_key_under_concurrent_puts(backend: Backend) -> None:
    service, pid = StateService(backend.store), package_id(backend)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(5):
                service.put(pid, f"w{n}-{i}", i)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(service.get(pid)) == 30


def test_state_service_refuses_an_unknown_package(backend: Backend) -> None:
    with pytest.raises(NotFound, match="package id 'nope' does not exist"):
        StateService(backend.store).put("nope", "a", 1)
    with pytest.raises(NotFound):
        StateService(backend.store).get("nope")


@pytest.mark.parametrize("key", ["", 5, "k" * 257])
def test_state_service_refuses_a_bad_key(backend: Backend, key: Any) -> None:
    with pytest.raises(InvalidInput, match="state key"):
        StateService(backend.store).put(package_id(backend), key, 1)


def test_state_service_refuses_a_value_that_is_not_json(backend: Backend) -> None:
    with pytest.raises(InvalidInput, match="not a JSON value"):
        StateService(backend.store).put(package_id(backend), "k", float("nan"))


def test_state_service_refuses_a_state_over_the_size_limit_and_keeps_the_old_one(backend: Backend) -> None:
    service = StateService(backend.store, max_state_bytes=100)
    service.put(package_id(backend), "small", 1)
    with pytest.raises(TooLarge, match="the limit is 100 bytes"):
        service.put(package_id(backend), "big", "x" * 200)
    assert service.get(package_id(backend)) == {"small": 1}


def test_deleting_the_package_deletes_its_state(backend: Backend) -> None:
    pid = package_id(backend)
    StateService(backend.store).put(pid, "a", 1)
    backend.packages.delete("demo", "pk")
    with backend.store.read() as session:
        assert session.get(PackageState, pid) is None
