"""ferris_ef in local mode (EF_ENV=local): ef_env.json and ef_package_state.json in the current folder."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ferris_ef
from ferris_ef import FerrisError, context, get_param, get_secret

REPO = Path(__file__).resolve().parents[1]

EF_ENV = {
    "params": {"package_name": "some_package", "package_id": "123", "optional_param": "x"},
    "secrets": {"DB_PASS": "pa$$", "API": {"key": "k1", "region": "eu"}},
    "config": {"LOG_LEVEL": "DEBUG", "BATCH": 10},
}


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding ef_env.json, made the current folder, with EF_ENV=local."""
    (tmp_path / "ef_env.json").write_text(json.dumps(EF_ENV))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EF_ENV", "local")
    ferris_ef.reset_context()
    yield tmp_path
    ferris_ef.reset_context()


def run_script(folder: Path, source: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EF_ENV": "local", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", source], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=60)


def test_params_are_the_ef_env_params(local: Path) -> None:
    assert context.params == EF_ENV["params"]


def test_parameters_is_an_alias_of_params(local: Path) -> None:
    assert context.parameters is context.params


def test_get_param_returns_a_param_or_none(local: Path) -> None:
    assert get_param("optional_param") == "x"
    assert get_param("package_name") == "some_package"
    assert get_param("missing") is None


def test_package_name_and_id_come_from_params(local: Path) -> None:
    assert (context.package.name, context.package.id) == ("some_package", "123")


def test_config_and_configs_are_the_config_section(local: Path) -> None:
    assert context.config == EF_ENV["config"]
    assert context.configs is context.config


def test_secrets_get_returns_the_value(local: Path) -> None:
    assert context.secrets.get("DB_PASS") == "pa$$"
    assert get_secret("API") == {"key": "k1", "region": "eu"}


def test_missing_secret_is_none_not_an_empty_dict(local: Path) -> None:
    assert context.secrets.get("NOPE") is None
    assert get_secret("NOPE") is None


def test_secrets_set_persists_into_ef_env_json(local: Path) -> None:
    context.secrets.set("NEW", {"somekey": "someval"}, "project")
    doc = json.loads((local / "ef_env.json").read_text())
    assert doc["secrets"]["NEW"] == {"somekey": "someval"}
    assert doc["params"] == EF_ENV["params"] and doc["config"] == EF_ENV["config"]


def test_secrets_set_is_seen_by_a_later_get_in_the_same_process(local: Path) -> None:
    context.secrets.set(name="platform_secret", value={"k": "v"}, context="platform")
    assert context.secrets.get("platform_secret") == {"k": "v"}


def test_secrets_set_is_seen_by_a_later_process(local: Path) -> None:
    context.secrets.set("TOKEN", "t-1", "project")
    done = run_script(local, "from ferris_ef import get_secret; print(get_secret('TOKEN'))")
    assert done.stdout.strip() == "t-1", done.stderr


@pytest.mark.parametrize("scope", ["package", "service", "project", "platform", "Project"])
def test_secrets_set_accepts_every_scope_name(local: Path, scope: str) -> None:
    context.secrets.set("S", 1, scope)
    assert context.secrets.get("S") == 1


def test_secrets_set_rejects_an_unknown_scope_and_writes_nothing(local: Path) -> None:
    before = (local / "ef_env.json").read_text()
    with pytest.raises(FerrisError, match="unknown secret context 'galaxy'"):
        context.secrets.set("S", 1, "galaxy")
    assert (local / "ef_env.json").read_text() == before


def test_secrets_set_rejects_a_value_that_is_not_json(local: Path) -> None:
    with pytest.raises(FerrisError, match="not a JSON value"):
        context.secrets.set("S", object(), "project")


def test_state_is_empty_before_the_first_put(local: Path) -> None:
    assert context.state.get() == {}


def test_state_put_updates_one_key_in_ef_package_state_json(local: Path) -> None:
    context.state.put("a", 1)
    context.state.put("b", {"x": [1, 2]})
    context.state.put("a", 2)
    assert context.state.get() == {"a": 2, "b": {"x": [1, 2]}}
    assert json.loads((local / "ef_package_state.json").read_text()) == {"a": 2, "b": {"x": [1, 2]}}


def test_state_persists_across_two_processes(local: Path) -> None:
    script = (
        "from ferris_ef import context\n"
        "runs = context.state.get().get('runs', 0) + 1\n"
        "context.state.put('runs', runs)\n"
        "print(runs)\n"
    )
    first, second = run_script(local, script), run_script(local, script)
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert (first.stdout.strip(), second.stdout.strip()) == ("1", "2")


def test_logging_is_a_logger_named_after_the_package(local: Path) -> None:
    assert isinstance(context.logging, logging.Logger)
    assert context.logging.name == "some_package"


def test_logging_level_comes_from_config_log_level(local: Path) -> None:
    assert context.logging.level == logging.DEBUG


def test_logging_level_defaults_to_info_without_log_level(local: Path) -> None:
    doc = {**EF_ENV, "config": {}, "params": {"package_name": "quiet_pkg", "package_id": "9"}}
    (local / "ef_env.json").write_text(json.dumps(doc))
    assert context.logging.level == logging.INFO


def test_logging_set_level_takes_a_level_name(local: Path) -> None:
    context.logging.setLevel("WARNING")
    assert context.logging.level == logging.WARNING


def test_logging_writes_to_standard_error_at_the_configured_level(local: Path) -> None:
    done = run_script(local, "from ferris_ef import context\ncontext.logging.debug('dbg-line')\n")
    assert "DEBUG some_package: dbg-line" in done.stderr
    assert done.stdout == ""


def test_missing_ef_env_json_writes_the_skeleton_and_raises(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EF_ENV", "local")
    ferris_ef.reset_context()
    with pytest.raises(FerrisError, match="skeleton was written.*package_name and params.package_id"):
        context.params
    assert json.loads((tmp_path / "ef_env.json").read_text()) == {
        "params": {"package_name": "", "package_id": ""}, "secrets": {}, "config": {}}
    assert (tmp_path / "ef_env.json").stat().st_mode & 0o077 == 0


def test_missing_ef_env_json_is_a_clear_error_in_a_script(tmp_path: Path) -> None:
    done = run_script(tmp_path, "from ferris_ef import get_secret\nget_secret('X')\n")
    assert done.returncode == 1
    assert "FerrisError" in done.stderr and "skeleton was written" in done.stderr
    assert (tmp_path / "ef_env.json").exists()


def test_missing_package_name_is_a_clear_error(local: Path) -> None:
    (local / "ef_env.json").write_text(json.dumps({**EF_ENV, "params": {"package_id": "123"}}))
    with pytest.raises(FerrisError, match="required; fill in params.package_name$"):
        context.secrets.get("DB_PASS")


def test_empty_package_id_is_a_clear_error(local: Path) -> None:
    (local / "ef_env.json").write_text(json.dumps({**EF_ENV, "params": {"package_name": "p", "package_id": ""}}))
    with pytest.raises(FerrisError, match="fill in params.package_id"):
        context.params


def test_invalid_ef_env_json_is_a_clear_error(local: Path) -> None:
    (local / "ef_env.json").write_text('{"params": ')
    with pytest.raises(FerrisError, match="ef_env.json is not valid JSON"):
        context.params


def test_a_section_that_is_not_an_object_is_a_clear_error(local: Path) -> None:
    (local / "ef_env.json").write_text(json.dumps({**EF_ENV, "secrets": ["a"]}))
    with pytest.raises(FerrisError, match="'secrets' must be a JSON object"):
        context.params
