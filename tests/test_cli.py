"""`jupyter dx ...` (dx_jupyter.cli): run in-process through main([...]) and once as a real process."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from dx_jupyter.backend import Backend, open_backend
from dx_jupyter.cli import main, parse_value
from dx_jupyter.keyring import MASTER_KEY_ENV, decode_key, encode_key

REPO = Path(__file__).resolve().parents[1]
SECRET = "supersecretpas$-91c2"
SECRETS_JSON = {"DB_NAME": "test_db", "DB_PASS": SECRET}


class CLI:
    """Runs main() against one SQLite store in a temporary folder; collects everything printed."""

    def __init__(self, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.folder = folder
        self.db = folder / "data" / "dx.db"
        self.url = f"sqlite:///{self.db}"
        self.capsys = capsys
        self.printed = ""

    def __call__(self, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        self.capsys.readouterr()
        if stdin is not None:
            sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")))
        try:
            code = main([*args, "--db-url", self.url])
        finally:
            sys.stdin = sys.__stdin__
        out, err = self.capsys.readouterr()
        self.printed += out + err
        return code, out, err

    @property
    def key_file(self) -> Path:
        return self.db.parent / "master.key"

    def backend(self, key_file: Path | None = None) -> Backend:
        key = decode_key((key_file or self.key_file).read_text(), "test key")
        return open_backend(self.url, key)

    def resolve(self, name: str, project: str | None = None, package: str | None = None) -> Any:
        backend = self.backend()
        try:
            return backend.secrets.resolve(name, project, package)
        finally:
            backend.close()

    def file(self, name: str, content: str | dict[str, Any]) -> str:
        path = self.folder / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return str(path)


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[CLI]:
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    monkeypatch.delenv("DX_DB_URL", raising=False)
    runner = CLI(tmp_path, capsys)
    yield runner
    assert SECRET not in runner.printed, "a secret value was printed"


@pytest.fixture
def demo(cli: CLI) -> CLI:
    """A store with project demo and package demo/pk (its secrets.json holds SECRETS_JSON)."""
    assert cli("projects", "create", "demo")[0] == 0
    code, _, err = cli("packages", "create", "demo", "pk", "--script", cli.file("test_secrets.py", "print(1)\n"),
                       "--secrets", cli.file("secrets.json", SECRETS_JSON))
    assert code == 0, err
    return cli


def one_line_error(result: tuple[int, str, str], text: str) -> None:
    code, out, err = result
    assert code == 1, (out, err)
    assert err.count("\n") == 1 and err.startswith("jupyter-dx: error: "), err
    assert text in err
    assert "Traceback" not in err


# ----- opening the store -----
def test_first_use_creates_the_store_and_a_private_master_key_beside_it(cli: CLI) -> None:
    code, out, err = cli("projects", "list")
    assert (code, out.strip()) == (0, "no projects")
    assert cli.db.exists() and cli.key_file.stat().st_mode & 0o777 == 0o600
    assert "creating a new master key file" in err


def test_the_db_url_may_come_from_dx_db_url(cli: CLI, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DX_DB_URL", cli.url)
    assert main(["projects", "create", "from-env"]) == 0
    assert "from-env" in cli("projects", "list")[1]


def test_options_may_come_before_the_command(cli: CLI) -> None:
    assert main(["--db-url", cli.url, "projects", "create", "early"]) == 0
    assert "early" in cli("projects", "list")[1]


def test_the_master_key_may_come_from_dx_master_key(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    key = os.urandom(32)
    monkeypatch.setenv(MASTER_KEY_ENV, encode_key(key))
    assert cli("projects", "create", "demo")[0] == 0
    assert not cli.key_file.exists()
    open_backend(cli.url, key).close()


def test_a_missing_key_file_for_an_existing_store_is_refused(demo: CLI) -> None:
    demo.key_file.rename(demo.folder / "elsewhere.key")
    one_line_error(demo("projects", "list"), "exists but its master key file")
    assert not demo.key_file.exists()


def test_a_wrong_master_key_is_one_line_and_changes_nothing(demo: CLI) -> None:
    other = demo.folder / "other.key"
    other.write_text(encode_key(os.urandom(32)))
    one_line_error(demo("projects", "list", "--key-file", str(other)), "master key is not the one")


# ----- projects -----
def test_projects_create_list_and_delete(cli: CLI) -> None:
    assert cli("projects", "create", "alpha", "--description", "first")[0] == 0
    code, out, _ = cli("projects", "list", "--json")
    assert [(p["name"], p["description"]) for p in json.loads(out)] == [("alpha", "first")]
    code, out, _ = cli("projects", "delete", "alpha")
    assert code == 0 and "deleted project alpha" in out
    assert json.loads(cli("projects", "list", "--json")[1]) == []


def test_projects_list_prints_a_table(demo: CLI) -> None:
    out = demo("projects", "list")[1].splitlines()
    assert out[0].split() == ["NAME", "CREATED", "DESCRIPTION"] and out[1].startswith("demo ")


def test_creating_a_project_twice_is_one_line_error(demo: CLI) -> None:
    one_line_error(demo("projects", "create", "demo"), "project 'demo' already exists")


def test_a_bad_project_name_is_one_line_error(demo: CLI) -> None:
    one_line_error(demo("projects", "create", ".hidden"), "project name '.hidden' is not valid")


def test_deleting_a_project_deletes_its_packages_secrets(demo: CLI) -> None:
    assert demo("projects", "delete", "demo")[0] == 0
    assert demo("projects", "create", "demo")[0] == 0
    assert demo.resolve("DB_PASS", "demo") is None


# ----- packages -----
def test_packages_create_stores_scripts_config_and_package_secrets(cli: CLI) -> None:
    cli("projects", "create", "demo")
    code, out, err = cli("packages", "create", "demo", "pk", "--description", "d",
                         "--script", cli.file("b.py", "x = 1\n"), "--script", cli.file("a.py", "y = 2\n"),
                         "--secrets", cli.file("secrets.json", SECRETS_JSON),
                         "--config", cli.file("config.json", {"LOG_LEVEL": "INFO"}))
    assert code == 0, err
    assert "scripts b.py, a.py" in out and "stored 2 package secret(s): DB_NAME, DB_PASS" in out
    assert cli.resolve("DB_PASS", "demo", "pk") == SECRET
    package = json.loads(cli("packages", "list", "demo", "--json")[1])[0]
    assert [s["name"] for s in package["scripts"]] == ["b.py", "a.py"]
    assert package["config"] == {"LOG_LEVEL": "INFO"} and package["description"] == "d"


def test_packages_list_prints_names_and_scripts(demo: CLI) -> None:
    lines = demo("packages", "list", "demo")[1].splitlines()
    assert lines[0].split()[:2] == ["NAME", "SCRIPTS"] and lines[1].split()[:2] == ["pk", "test_secrets.py"]


def test_a_script_with_a_syntax_error_stores_nothing(demo: CLI) -> None:
    one_line_error(demo("packages", "create", "demo", "broken", "--script", demo.file("bad.py", "def (:\n")),
                   "script 'bad.py' has a syntax error at line 1")
    assert [p["name"] for p in json.loads(demo("packages", "list", "demo", "--json")[1])] == ["pk"]


def test_a_missing_script_file_is_one_line_error(demo: CLI) -> None:
    one_line_error(demo("packages", "create", "demo", "p2", "--script", str(demo.folder / "nope.py")),
                   "script")


def test_packages_of_an_unknown_project_is_one_line_error(demo: CLI) -> None:
    one_line_error(demo("packages", "list", "ghost"), "project 'ghost' does not exist")


# ----- secrets upload -----
def test_secrets_upload_stores_a_file_in_a_scope(demo: CLI) -> None:
    code, out, _ = demo("secrets", "upload", demo.file("p.json", {"API": {"k": 1}}), "--scope", "project",
                        "--project", "demo")
    assert code == 0 and out.strip() == "stored 1 secret(s) in project demo: created API; updated -"
    assert demo.resolve("API", "demo") == {"k": 1}


def test_secrets_upload_reads_standard_input_for_dash(demo: CLI) -> None:
    code, out, _ = demo("secrets", "upload", "-", "--scope", "platform", stdin=json.dumps({"PLAT": SECRET}))
    assert code == 0, out
    assert demo.resolve("PLAT") == SECRET


def test_secrets_upload_replace_deletes_names_not_in_the_file(demo: CLI) -> None:
    code, out, _ = demo("secrets", "upload", demo.file("s.json", {"DB_NAME": "new"}), "--scope", "service",
                        "--project", "demo", "--package", "pk", "--replace", "--json")
    assert code == 0
    assert json.loads(out) == {"scope": "package", "stored": ["DB_NAME"], "created": [], "updated": ["DB_NAME"],
                               "deleted": ["DB_PASS"]}
    assert demo.resolve("DB_PASS", "demo", "pk") is None


def test_secrets_upload_of_invalid_json_is_one_line_error_and_stores_nothing(demo: CLI) -> None:
    one_line_error(demo("secrets", "upload", demo.file("bad.json", '{"A": 1,'), "--scope", "platform"),
                   "secrets.json is not valid JSON")
    assert json.loads(demo("secrets", "list", "--scope", "platform", "--json")[1]) == []


def test_secrets_upload_of_a_json_array_is_one_line_error(demo: CLI) -> None:
    one_line_error(demo("secrets", "upload", demo.file("arr.json", "[1]"), "--scope", "platform"),
                   "must hold a JSON object")


def test_secrets_upload_of_a_missing_file_is_one_line_error(demo: CLI) -> None:
    one_line_error(demo("secrets", "upload", str(demo.folder / "none.json"), "--scope", "platform"),
                   "does not exist")


def test_the_project_scope_without_a_project_is_one_line_error(demo: CLI) -> None:
    one_line_error(demo("secrets", "upload", demo.file("s.json", {"A": 1}), "--scope", "project"),
                   "the project scope needs a project name")


def test_an_unknown_scope_is_a_usage_error(demo: CLI) -> None:
    code, _, err = demo("secrets", "list", "--scope", "galaxy")
    assert code == 2 and "invalid choice: 'galaxy'" in err


# ----- secrets set -----
@pytest.mark.parametrize(("text", "value"), [
    ('{"somekey": "someval"}', {"somekey": "someval"}),
    ("42", 42),
    ('"42"', "42"),
    ("true", True),
    ("plain text", "plain text"),
    ("NaN", "NaN"),
    ("line\n", "line"),
    ("two\n\n", "two\n"),
])
def test_a_value_is_json_if_it_parses_else_a_plain_string(text: str, value: Any) -> None:
    assert parse_value(text) == value


def test_secrets_set_reads_the_value_from_standard_input(demo: CLI) -> None:
    code, out, err = demo("secrets", "set", "PW", "--scope", "project", "--project", "demo", stdin=SECRET + "\n")
    assert code == 0, err
    assert out.strip() == "set secret PW in project demo (version 1)"
    assert demo.resolve("PW", "demo") == SECRET


def test_secrets_set_reads_the_value_from_a_file(demo: CLI) -> None:
    path = demo.file("value.json", {"user": "u", "password": SECRET})
    assert demo("secrets", "set", "LOGIN", "--scope", "platform", "--value-file", path)[0] == 0
    assert demo.resolve("LOGIN") == {"user": "u", "password": SECRET}


def test_secrets_set_with_a_value_argument_warns_that_it_is_visible(demo: CLI) -> None:
    code, _, err = demo("secrets", "set", "FLAG", "on", "--scope", "platform")
    assert code == 0 and "visible to other local users" in err
    assert demo.resolve("FLAG") == "on"


def test_secrets_set_again_bumps_the_version(demo: CLI) -> None:
    demo("secrets", "set", "V", "--scope", "platform", stdin="1")
    assert "(version 2)" in demo("secrets", "set", "V", "--scope", "platform", stdin="2")[1]


def test_secrets_set_of_null_is_one_line_error(demo: CLI) -> None:
    one_line_error(demo("secrets", "set", "N", "--scope", "platform", stdin="null"), "is null")


def test_secrets_set_with_a_bad_name_is_one_line_error(demo: CLI) -> None:
    one_line_error(demo("secrets", "set", "1abc", "--scope", "platform", stdin="x"), "secret name '1abc' is not valid")


def test_secrets_set_with_both_a_value_and_a_value_file_is_a_usage_error(demo: CLI) -> None:
    assert demo("secrets", "set", "A", "v", "--value-file", "f", "--scope", "platform")[0] == 2


# ----- secrets list / delete -----
def test_secrets_list_shows_names_versions_and_times_never_values(demo: CLI) -> None:
    code, out, _ = demo("secrets", "list", "--scope", "package", "--project", "demo", "--package", "pk")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["NAME", "VERSION", "UPDATED"]
    assert [line.split()[:2] for line in lines[1:]] == [["DB_NAME", "1"], ["DB_PASS", "1"]]
    assert "test_db" not in out


def test_secrets_list_json_gives_metadata_only(demo: CLI) -> None:
    out = demo("secrets", "list", "--scope", "service", "--project", "demo", "--package", "pk", "--json")[1]
    rows = json.loads(out)
    assert [sorted(r) for r in rows] == [["created_at", "name", "scope", "updated_at", "version"]] * 2
    assert "test_db" not in out


def test_secrets_list_of_an_empty_scope_says_so(demo: CLI) -> None:
    assert demo("secrets", "list", "--scope", "platform")[1].strip() == "no secrets in the platform scope"


def test_secrets_delete_removes_one_secret(demo: CLI) -> None:
    code, out, _ = demo("secrets", "delete", "DB_PASS", "--scope", "package", "--project", "demo", "--package", "pk")
    assert code == 0 and out.strip() == "deleted secret DB_PASS from package demo/pk"
    assert demo.resolve("DB_PASS", "demo", "pk") is None
    assert demo.resolve("DB_NAME", "demo", "pk") == "test_db"


def test_deleting_a_missing_secret_is_one_line_error(demo: CLI) -> None:
    one_line_error(demo("secrets", "delete", "NOPE", "--scope", "platform"), "secret 'NOPE' does not exist")


# ----- keys -----
def test_rotate_data_re_encrypts_an_owners_secrets_under_a_new_key(demo: CLI) -> None:
    code, out, _ = demo("keys", "rotate-data", "--scope", "package", "--project", "demo", "--package", "pk")
    assert code == 0 and out.strip() == "gave package demo/pk a new data key and re-encrypted 2 secret(s)"
    assert demo.resolve("DB_PASS", "demo", "pk") == SECRET


def test_rotate_data_of_an_unknown_package_is_one_line_error(demo: CLI) -> None:
    one_line_error(demo("keys", "rotate-data", "--scope", "package", "--project", "demo", "--package", "x"),
                   "package 'x' does not exist")


def test_rotate_master_creates_the_new_key_file_and_rewraps_every_data_key(demo: CLI) -> None:
    demo("secrets", "set", "P", "--scope", "platform", stdin="1")
    new_key = demo.folder / "new.key"
    code, out, err = demo("keys", "rotate-master", "--new-key-file", str(new_key))
    assert code == 0, err
    assert out.strip() == f"re-wrapped 2 data key(s) under the master key in {new_key}"
    assert new_key.stat().st_mode & 0o777 == 0o600
    one_line_error(demo("projects", "list"), "master key is not the one")
    backend = demo.backend(new_key)
    try:
        assert backend.secrets.resolve("DB_PASS", "demo", "pk") == SECRET
    finally:
        backend.close()
    assert demo("projects", "list", "--key-file", str(new_key))[0] == 0


def test_rotate_master_uses_an_existing_new_key_file(demo: CLI) -> None:
    key = os.urandom(32)
    path = demo.file("given.key", encode_key(key))
    assert demo("keys", "rotate-master", "--new-key-file", path)[0] == 0
    open_backend(demo.url, key).close()


def test_rotate_master_to_the_same_key_is_refused(demo: CLI) -> None:
    one_line_error(demo("keys", "rotate-master", "--new-key-file", str(demo.key_file)), "holds the current master key")


def test_rotate_master_with_a_malformed_new_key_file_is_one_line_error(demo: CLI) -> None:
    one_line_error(demo("keys", "rotate-master", "--new-key-file", demo.file("bad.key", "not base64!")),
                   "is not valid base64")


# ----- usage -----
def test_no_command_is_a_usage_error(cli: CLI) -> None:
    assert main([]) == 2


def test_version_prints_the_version(cli: CLI, capsys: pytest.CaptureFixture[str]) -> None:
    from dx_jupyter import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"jupyter-dx {__version__}"


# ----- as a real process -----
def run_cli(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in (MASTER_KEY_ENV, "DX_DB_URL")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "dx_jupyter.cli", *args, "--db-url", f"sqlite:///{tmp_path}/dx.db"],
                          input=stdin, capture_output=True, text=True, env=env, timeout=120)


def test_as_a_process_upload_then_list_prints_names_only(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "secrets", "upload", "-", "--scope", "platform", stdin=json.dumps(SECRETS_JSON))
    assert done.returncode == 0, done.stderr
    done = run_cli(tmp_path, "secrets", "list", "--scope", "platform")
    assert done.returncode == 0
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["NAME", "DB_NAME", "DB_PASS"]
    assert SECRET not in done.stdout + done.stderr


def test_as_a_process_an_error_is_one_line_and_exit_1(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "projects", "list").returncode == 0
    done = run_cli(tmp_path, "secrets", "delete", "NOPE", "--scope", "platform")
    assert done.returncode == 1
    assert done.stderr == "jupyter-dx: error: secret 'NOPE' does not exist in the platform\n"
