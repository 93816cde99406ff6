"""Packages: scripts, config.json, secrets.json among the scripts, one transaction per change."""
import json

import pytest

from dx_jupyter.errors import Conflict, DXError, InvalidContent, InvalidInput, NotFound, TooLarge
from dx_jupyter.services.packages import PackagesService, Upload
from postgres import sql_rows, sqlite_only

SEED = {"DB_NAME": "test_db", "DB_PASS": "supersecretpas$"}


def _py(name: str, body: str = "print('hi')\n") -> Upload:
    return Upload(name, body.encode())


def _secrets_file(values=SEED, filename="secrets.json") -> Upload:
    return Upload(filename, json.dumps(values).encode())


@pytest.fixture
def proj(backend):
    backend.projects.create("proj")
    return "proj"


def _count(backend, table) -> int:
    return sql_rows(backend.store, f"SELECT count(*) FROM {table}")[0][0]


def _scripts(backend, package="pkg"):
    return [(s["name"], s["order"]) for s in backend.packages.get("proj", package)["scripts"]]


# ----- create -----
def test_create_with_scripts_keeps_their_order(backend, proj):
    out = backend.packages.create("proj", "pkg", "my package", scripts=[_py("b.py"), _py("a.py"), _py("c.py")])
    assert out["name"] == "pkg" and out["project"] == "proj" and out["description"] == "my package"
    assert [(s["name"], s["order"]) for s in out["scripts"]] == [("b.py", 1), ("a.py", 2), ("c.py", 3)]
    assert backend.packages.script_source("proj", "pkg", "a.py") == "print('hi')\n"


def test_secrets_json_among_scripts_is_not_a_script_and_fills_the_package_scope(backend, proj, tmp_path):
    out = backend.packages.create(
        "proj", "pkg", scripts=[_py("step1.py"), _secrets_file(), _py("step2.py")]
    )
    assert [s["name"] for s in out["scripts"]] == ["step1.py", "step2.py"]
    assert out["secrets"] == {"stored": ["DB_NAME", "DB_PASS"]}
    assert _count(backend, "scripts") == 2
    with pytest.raises(NotFound):
        backend.packages.script_source("proj", "pkg", "secrets.json")
    assert backend.secrets.resolve("DB_PASS", "proj", "pkg") == "supersecretpas$"
    assert [s.name for s in backend.secrets.list("package", "proj", "pkg")] == ["DB_NAME", "DB_PASS"]


@sqlite_only("searches the bytes of the SQLite database file and its WAL")
def test_secrets_json_is_kept_nowhere_in_the_database(backend, proj, tmp_path):
    backend.packages.create("proj", "pkg", scripts=[_py("s.py"), _secrets_file({"K": "kept-nowhere-6d1f0a"})])
    backend.close()
    for name in ("dx.db", "dx.db-wal"):
        path = tmp_path / name
        if path.exists():
            data = path.read_bytes()
            assert b"kept-nowhere-6d1f0a" not in data
            assert b'{"K"' not in data


def test_secrets_given_separately_fill_the_package_scope(backend, proj):
    backend.packages.create("proj", "pkg", scripts=[_py("s.py")], secrets=_secrets_file())
    assert backend.secrets.resolve("DB_NAME", "proj", "pkg") == "test_db"


def test_config_json_among_scripts_becomes_the_config(backend, proj, tmp_path):
    config = Upload("config.json", b'{"retries": 3, "nested": {"a": [1, 2]}}')
    out = backend.packages.create("proj", "pkg", scripts=[_py("s.py"), config])
    assert out["config"] == {"retries": 3, "nested": {"a": [1, 2]}}
    assert [s["name"] for s in out["scripts"]] == ["s.py"]
    assert backend.packages.get("proj", "pkg")["config"] == {"retries": 3, "nested": {"a": [1, 2]}}


def test_config_as_a_dict_is_accepted(backend, proj):
    out = backend.packages.create("proj", "pkg", config={"x": 1})
    assert out["config"] == {"x": 1}


def test_package_without_config_has_empty_config(backend, proj):
    assert backend.packages.create("proj", "pkg")["config"] == {}


@pytest.mark.parametrize(
    "config, message",
    [
        (Upload("config.json", b"{not json"), "config.json is not valid JSON"),
        (Upload("config.json", b"[1, 2]"), "must hold a JSON object"),
        (Upload("config.json", b"\xff\xfe"), "config.json is not UTF-8"),
        ([1, 2], "must hold a JSON object"),
        ("text", "must hold a JSON object"),
    ],
    ids=["not-json", "array", "not-utf8", "python-list", "python-str"],
)
def test_bad_config_is_invalid_content_and_stores_nothing(backend, proj, tmp_path, config, message):
    with pytest.raises(InvalidContent, match=message):
        backend.packages.create("proj", "pkg", scripts=[_py("s.py")], config=config, secrets=_secrets_file())
    assert _count(backend, "packages") == 0
    assert _count(backend, "secrets") == 0


def test_syntax_error_in_a_script_stores_nothing(backend, proj, tmp_path):
    with pytest.raises(InvalidContent, match="script 'bad.py' has a syntax error at line 2"):
        backend.packages.create(
            "proj", "pkg", scripts=[_py("ok.py"), _py("bad.py", "x = 1\ndef (:\n"), _secrets_file()]
        )
    assert _count(backend, "packages") == 0
    assert _count(backend, "scripts") == 0
    assert _count(backend, "secrets") == 0
    assert _count(backend, "data_keys") == 0
    with pytest.raises(NotFound):
        backend.packages.get("proj", "pkg")


def test_bad_secrets_json_stores_no_package(backend, proj, tmp_path):
    with pytest.raises(InvalidContent, match="duplicate key 'A'"):
        backend.packages.create("proj", "pkg", scripts=[_py("s.py"), Upload("secrets.json", b'{"A": 1, "A": 2}')])
    assert _count(backend, "packages") == 0
    assert _count(backend, "scripts") == 0
    assert _count(backend, "secrets") == 0
    assert _count(backend, "data_keys") == 0


def test_script_that_is_not_utf8_is_invalid_content(backend, proj, tmp_path):
    with pytest.raises(InvalidContent, match="bad.py is not UTF-8"):
        backend.packages.create("proj", "pkg", scripts=[Upload("bad.py", b"print('\xff')")])
    assert _count(backend, "packages") == 0


def test_script_over_the_size_limit_is_too_large(backend, proj, tmp_path):
    small = PackagesService(backend.store, backend.secrets, max_script_bytes=100)
    with pytest.raises(TooLarge, match="script 'big.py' is 201 bytes; the limit is 100"):
        small.create("proj", "pkg", scripts=[_py("big.py", "#" * 200 + "\n")])
    assert _count(backend, "packages") == 0


def test_duplicate_package_is_a_conflict(backend, proj, tmp_path):
    backend.packages.create("proj", "pkg", scripts=[_py("a.py")], secrets=_secrets_file())
    with pytest.raises(Conflict, match="package 'pkg' already exists in project 'proj'"):
        backend.packages.create("proj", "pkg", scripts=[_py("b.py")], secrets=_secrets_file({"OTHER": 1}))
    assert _scripts(backend) == [("a.py", 1)]
    assert [s.name for s in backend.secrets.list("package", "proj", "pkg")] == ["DB_NAME", "DB_PASS"]


def test_same_package_name_in_another_project_is_fine(backend, proj):
    backend.projects.create("other")
    backend.packages.create("proj", "pkg")
    backend.packages.create("other", "pkg")
    assert backend.packages.get("other", "pkg")["project"] == "other"


def test_package_in_unknown_project_is_not_found(backend):
    with pytest.raises(NotFound, match="project 'nope' does not exist"):
        backend.packages.create("nope", "pkg")


def test_two_scripts_with_the_same_name_are_refused(backend, proj, tmp_path):
    with pytest.raises(InvalidInput, match="same file name"):
        backend.packages.create("proj", "pkg", scripts=[_py("a.py"), _py("a.py")])
    assert _count(backend, "packages") == 0


@pytest.mark.parametrize(
    "filename",
    ["notes.txt", "script", ".py", ".hidden.py", "../evil.py", "dir/a.py", "a b.py", "a.PY", "", "é.py",
     "x" * 126 + ".py"],
    ids=["txt", "no-extension", "only-extension", "dot-start", "parent-dir", "subdir", "space", "upper-ext",
         "empty", "unicode", "129-chars"],
)
def test_bad_script_names_are_invalid_input_and_store_nothing(backend, proj, tmp_path, filename):
    with pytest.raises(InvalidInput, match="script name"):
        backend.packages.create("proj", "pkg", scripts=[_py("ok.py"), Upload(filename, b"x = 1\n")])
    assert _count(backend, "packages") == 0


@pytest.mark.parametrize("name", ["", ".pkg", "a/b", "a b", "x" * 129, None],
                         ids=["empty", "dot-start", "slash", "space", "129-chars", "none"])
def test_bad_package_names_are_invalid_input(backend, proj, name):
    with pytest.raises(InvalidInput, match="package name"):
        backend.packages.create("proj", name)


def test_non_string_description_is_invalid_input(backend, proj):
    with pytest.raises(InvalidInput, match="description must be a string"):
        backend.packages.create("proj", "pkg", description=5)


# ----- list / get -----
def test_list_is_sorted_and_filtered_by_query(backend, proj):
    for name in ("zeta", "alpha", "alphabet", "beta_x"):
        backend.packages.create("proj", name)
    assert [p["name"] for p in backend.packages.list("proj")] == ["alpha", "alphabet", "beta_x", "zeta"]
    assert [p["name"] for p in backend.packages.list("proj", "alpha")] == ["alpha", "alphabet"]
    # LIKE wildcards in the query are literal.
    assert [p["name"] for p in backend.packages.list("proj", "_")] == ["beta_x"]
    assert backend.packages.list("proj", "%") == []


def test_package_dict_never_carries_secret_values(backend, proj):
    backend.packages.create("proj", "pkg", scripts=[_py("s.py"), _secrets_file({"K": "dict-canary-55aa"})])
    assert "dict-canary-55aa" not in json.dumps(backend.packages.get("proj", "pkg"))
    assert "dict-canary-55aa" not in json.dumps(backend.packages.list("proj"))


# ----- update -----
@pytest.fixture
def pkg(backend, proj):
    backend.packages.create("proj", "pkg", scripts=[_py("a.py"), _py("b.py"), _py("c.py")])
    return "pkg"


def test_reorder_scripts(backend, pkg):
    out = backend.packages.update("proj", "pkg", script_order=["c.py", "a.py", "b.py"])
    assert [(s["name"], s["order"]) for s in out["scripts"]] == [("c.py", 1), ("a.py", 2), ("b.py", 3)]
    assert _scripts(backend) == [("c.py", 1), ("a.py", 2), ("b.py", 3)]


@pytest.mark.parametrize(
    "order", [["a.py", "b.py"], ["a.py", "b.py", "c.py", "d.py"], ["a.py", "a.py", "b.py"], "a.py,b.py,c.py"],
    ids=["missing", "extra", "duplicate", "not-a-list"],
)
def test_reorder_must_name_each_script_once(backend, pkg, order):
    with pytest.raises(InvalidInput, match="script_order must list each script"):
        backend.packages.update("proj", "pkg", script_order=order)
    assert _scripts(backend) == [("a.py", 1), ("b.py", 2), ("c.py", 3)]


def test_replace_a_script_keeps_its_position(backend, pkg):
    backend.packages.update("proj", "pkg", scripts=[_py("b.py", "print('new b')\n")])
    assert _scripts(backend) == [("a.py", 1), ("b.py", 2), ("c.py", 3)]
    assert backend.packages.script_source("proj", "pkg", "b.py") == "print('new b')\n"


def test_add_a_script_appends_it(backend, pkg):
    backend.packages.update("proj", "pkg", scripts=[_py("d.py")])
    assert _scripts(backend) == [("a.py", 1), ("b.py", 2), ("c.py", 3), ("d.py", 4)]


def test_remove_a_script_renumbers_the_rest(backend, pkg, tmp_path):
    backend.packages.update("proj", "pkg", remove_scripts=["a.py"])
    assert _scripts(backend) == [("b.py", 1), ("c.py", 2)]
    assert _count(backend, "scripts") == 2


def test_remove_add_and_reorder_in_one_update(backend, pkg):
    out = backend.packages.update(
        "proj", "pkg", remove_scripts=["b.py"], scripts=[_py("d.py")], script_order=["d.py", "c.py", "a.py"]
    )
    assert [(s["name"], s["order"]) for s in out["scripts"]] == [("d.py", 1), ("c.py", 2), ("a.py", 3)]


def test_removing_an_unknown_script_is_not_found_and_changes_nothing(backend, pkg):
    with pytest.raises(NotFound, match="script 'zzz.py' does not exist"):
        backend.packages.update("proj", "pkg", remove_scripts=["a.py", "zzz.py"])
    assert _scripts(backend) == [("a.py", 1), ("b.py", 2), ("c.py", 3)]


def test_update_with_a_syntax_error_changes_nothing(backend, pkg):
    with pytest.raises(InvalidContent, match="syntax error"):
        backend.packages.update(
            "proj", "pkg", description="changed", scripts=[_py("a.py", "print('ok')\n"), _py("z.py", "def (")]
        )
    assert backend.packages.get("proj", "pkg")["description"] == ""
    assert backend.packages.script_source("proj", "pkg", "a.py") == "print('hi')\n"


def test_update_with_two_new_scripts_of_the_same_name_is_invalid_input(backend, pkg):
    with pytest.raises(InvalidInput, match="same file name"):
        backend.packages.update("proj", "pkg", scripts=[_py("d.py"), _py("d.py", "x = 2\n")])
    assert _scripts(backend) == [("a.py", 1), ("b.py", 2), ("c.py", 3)]


def test_update_config_and_description(backend, pkg):
    out = backend.packages.update("proj", "pkg", description="new", config=Upload("config.json", b'{"k": 1}'))
    assert out["description"] == "new" and out["config"] == {"k": 1}


def test_update_with_bad_config_changes_nothing(backend, pkg):
    with pytest.raises(InvalidContent, match="config.json"):
        backend.packages.update("proj", "pkg", description="new", config=Upload("config.json", b"[]"))
    assert backend.packages.get("proj", "pkg")["description"] == ""


def test_update_of_unknown_package_is_not_found(backend, proj):
    with pytest.raises(NotFound, match="package 'nope' does not exist"):
        backend.packages.update("proj", "nope", description="x")


# ----- delete -----
def test_delete_removes_package_scripts_and_secrets(backend, proj, tmp_path):
    backend.packages.create("proj", "pkg", scripts=[_py("a.py"), _secrets_file()])
    backend.packages.delete("proj", "pkg")
    assert backend.packages.list("proj") == []
    assert _count(backend, "scripts") == 0
    assert _count(backend, "secrets") == 0
    assert _count(backend, "data_keys") == 0


def test_delete_of_unknown_package_is_not_found(backend, proj):
    with pytest.raises(NotFound):
        backend.packages.delete("proj", "nope")


def test_every_refusal_is_a_dx_error(backend, proj):
    """Sanity: the services never let a raw SQLAlchemy or JSON error escape for these inputs."""
    bad_calls = [
        lambda: backend.packages.create("proj", "pkg", scripts=[Upload("a.py", b"x=1"), Upload("a.py", b"x=2")]),
        lambda: backend.packages.create("proj", "pkg", config=Upload("config.json", b"")),
        lambda: backend.packages.create("proj", "pkg", secrets=Upload("secrets.json", b"")),
    ]
    for call in bad_calls:
        with pytest.raises(DXError):
            call()


def test_secrets_json_sent_to_update_never_becomes_a_script(backend, pkg, tmp_path):
    """update() takes no secrets.json (the secrets endpoints do): it is refused, not stored."""
    with pytest.raises(InvalidInput, match="script name 'secrets.json'"):
        backend.packages.update("proj", "pkg", scripts=[_secrets_file()])
    assert _scripts(backend) == [("a.py", 1), ("b.py", 2), ("c.py", 3)]
    assert _count(backend, "secrets") == 0
