"""The secrets service on a real SQLite store: scopes, lookup order, modes, versions, deletion."""
import json

import pytest

from dx_jupyter.errors import NotFound
from dx_jupyter.services.packages import Upload
from dx_jupyter.services.secrets import REPLACE, UPSERT, merge_scopes
from dx_jupyter.store.models import PLATFORM_ID
from postgres import sql_rows

SEED = {"DB_NAME": "test_db", "DB_PASS": "supersecretpas$"}


def _json(obj) -> bytes:
    return json.dumps(obj).encode()


@pytest.fixture
def pkg(backend):
    """Project `proj` with package `pkg`; returns the package id."""
    backend.projects.create("proj")
    backend.packages.create("proj", "pkg")
    return backend.packages.get_id("proj", "pkg")


def _rows(backend, table):
    return sql_rows(backend.store, f"SELECT * FROM {table}")


# ----- the seed page's example -----
def test_seed_example_upload_to_package_then_resolve_both(backend, pkg):
    result = backend.secrets.upload(_json(SEED), "package", "proj", "pkg")
    assert result.stored == ["DB_NAME", "DB_PASS"]
    assert backend.secrets.resolve("DB_NAME", "proj", "pkg") == "test_db"
    assert backend.secrets.resolve("DB_PASS", "proj", "pkg") == "supersecretpas$"


def test_service_is_accepted_as_synonym_of_package_scope(backend, pkg):
    result = backend.secrets.upload(_json(SEED), "service", "proj", "pkg")
    assert result.scope == "package"
    assert [s.name for s in backend.secrets.list("package", "proj", "pkg")] == ["DB_NAME", "DB_PASS"]
    assert [s.name for s in backend.secrets.list("SERVICE", "proj", "pkg")] == ["DB_NAME", "DB_PASS"]


def test_package_falls_back_to_project_scope(backend, pkg):
    backend.secrets.upload(_json({"ONLY_PROJECT": "p-val"}), "project", "proj")
    assert backend.secrets.resolve("ONLY_PROJECT", "proj", "pkg") == "p-val"
    assert backend.secrets.resolve_for_package(pkg, "ONLY_PROJECT") == "p-val"


def test_package_falls_back_to_platform_scope(backend, pkg):
    backend.secrets.upload(_json({"ONLY_PLATFORM": {"k": [1, 2]}}), "platform")
    assert backend.secrets.resolve("ONLY_PLATFORM", "proj", "pkg") == {"k": [1, 2]}
    assert backend.secrets.resolve("ONLY_PLATFORM", "proj") == {"k": [1, 2]}
    assert backend.secrets.resolve("ONLY_PLATFORM") == {"k": [1, 2]}


def test_unknown_name_resolves_to_none(backend, pkg):
    backend.secrets.upload(_json(SEED), "package", "proj", "pkg")
    assert backend.secrets.resolve("NO_SUCH_SECRET", "proj", "pkg") is None
    assert backend.secrets.resolve_for_package(pkg, "NO_SUCH_SECRET") is None


def test_package_beats_project_beats_platform(backend, pkg):
    backend.secrets.upload(_json({"A": "platform", "B": "platform", "C": "platform"}), "platform")
    backend.secrets.upload(_json({"A": "project", "B": "project"}), "project", "proj")
    backend.secrets.upload(_json({"A": "package"}), "package", "proj", "pkg")
    assert backend.secrets.resolve("A", "proj", "pkg") == "package"
    assert backend.secrets.resolve("B", "proj", "pkg") == "project"
    assert backend.secrets.resolve("C", "proj", "pkg") == "platform"
    # Addressed at project level, the package scope is not searched.
    assert backend.secrets.resolve("A", "proj") == "project"
    assert backend.secrets.resolve("A") == "platform"


def test_sibling_package_does_not_see_another_packages_secrets(backend, pkg):
    backend.packages.create("proj", "other")
    backend.secrets.upload(_json({"MINE": "x"}), "package", "proj", "pkg")
    assert backend.secrets.resolve("MINE", "proj", "other") is None


def test_resolve_scoped_gives_each_scope_separately(backend, pkg):
    backend.secrets.upload(_json({"A": "platform", "P": 1}), "platform")
    backend.secrets.upload(_json({"A": "project", "Q": [True]}), "project", "proj")
    backend.secrets.upload(_json(SEED), "package", "proj", "pkg")
    assert backend.secrets.resolve_scoped(pkg) == {
        "package": SEED,
        "project": {"A": "project", "Q": [True]},
        "platform": {"A": "platform", "P": 1},
    }


def test_resolve_scoped_of_package_without_secrets_has_three_empty_scopes(backend, pkg):
    assert backend.secrets.resolve_scoped(pkg) == {"package": {}, "project": {}, "platform": {}}


def test_resolve_chain_merges_with_package_winning(backend, pkg):
    backend.secrets.upload(_json({"A": "platform", "P": 1}), "platform")
    backend.secrets.upload(_json({"A": "project", "B": "project"}), "project", "proj")
    backend.secrets.upload(_json({"A": "package"}), "package", "proj", "pkg")
    assert backend.secrets.resolve_chain(pkg) == {"A": "package", "B": "project", "P": 1}


def test_merge_scopes_order_is_platform_then_project_then_package():
    merged = merge_scopes({"package": {"x": 3}, "platform": {"x": 1, "y": 1}, "project": {"x": 2}})
    assert merged == {"x": 3, "y": 1}


def test_resolve_for_unknown_package_id_is_not_found(backend, pkg):
    with pytest.raises(NotFound, match="package id"):
        backend.secrets.resolve_for_package("0" * 32, "A")


def test_values_keep_their_json_types(backend, pkg):
    values = {"s": "x", "i": 7, "f": 1.5, "b": False, "a": [1, "two"], "o": {"k": {"n": None}}, "u": "pâté 🔑"}
    backend.secrets.upload(_json(values), "package", "proj", "pkg")
    assert backend.secrets.resolve_scoped(pkg)["package"] == values


# ----- set -----
def test_set_creates_then_updates_with_increasing_version(backend, pkg):
    first = backend.secrets.set("TOKEN", "one", "project", "proj")
    second = backend.secrets.set("TOKEN", {"somekey": "someval"}, "project", "proj")
    assert (first.version, second.version) == (1, 2)
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at
    assert backend.secrets.resolve("TOKEN", "proj", "pkg") == {"somekey": "someval"}


# ----- upload modes and versions -----
def test_upsert_keeps_names_absent_from_the_file(backend, pkg):
    backend.secrets.upload(_json({"A": 1, "B": 2}), "project", "proj")
    result = backend.secrets.upload(_json({"B": 20, "C": 30}), "project", "proj", mode=UPSERT)
    assert (result.created, result.updated, result.deleted) == (["C"], ["B"], [])
    assert backend.secrets.resolve_scoped(pkg)["project"] == {"A": 1, "B": 20, "C": 30}


def test_replace_deletes_names_absent_from_the_file(backend, pkg):
    backend.secrets.upload(_json({"A": 1, "B": 2}), "project", "proj")
    result = backend.secrets.upload(_json({"B": 20, "C": 30}), "project", "proj", mode=REPLACE)
    assert (result.created, result.updated, result.deleted) == (["C"], ["B"], ["A"])
    assert backend.secrets.resolve_scoped(pkg)["project"] == {"B": 20, "C": 30}


def test_replace_touches_only_its_own_scope(backend, pkg):
    backend.secrets.upload(_json({"A": 1}), "platform")
    backend.secrets.upload(_json({"A": 2}), "package", "proj", "pkg")
    backend.secrets.upload(_json({"Z": 0}), "project", "proj", mode=REPLACE)
    assert backend.secrets.resolve_scoped(pkg) == {"package": {"A": 2}, "project": {"Z": 0}, "platform": {"A": 1}}


def test_versions_increase_on_each_update(backend, pkg):
    for i in range(1, 4):
        backend.secrets.upload(_json({"A": i}), "platform")
    backend.secrets.upload(_json({"B": 1}), "platform")
    versions = {s.name: s.version for s in backend.secrets.list("platform")}
    assert versions == {"A": 3, "B": 1}


def test_re_uploading_the_same_value_still_bumps_the_version(backend, pkg):
    backend.secrets.upload(_json({"A": "same"}), "platform")
    backend.secrets.upload(_json({"A": "same"}), "platform")
    assert [s.version for s in backend.secrets.list("platform")] == [2]


# ----- list -----
def test_list_gives_names_and_metadata_only(backend, pkg):
    values = {"DB_PASS": "list-canary-value-9f1c", "NESTED": {"inner": "list-canary-inner-77ab"}}
    backend.secrets.upload(_json(values), "package", "proj", "pkg")
    listed = [s.to_dict() for s in backend.secrets.list("package", "proj", "pkg")]
    assert [d["name"] for d in listed] == ["DB_PASS", "NESTED"]
    for d in listed:
        assert set(d) == {"name", "scope", "version", "created_at", "updated_at"}
        assert d["scope"] == "package"
    dumped = json.dumps(listed)
    assert "list-canary-value-9f1c" not in dumped
    assert "list-canary-inner-77ab" not in dumped
    assert "inner" not in dumped


def test_list_of_empty_scope_is_empty(backend, pkg):
    assert backend.secrets.list("platform") == []
    assert backend.secrets.list("project", "proj") == []


# ----- delete -----
def test_delete_removes_one_secret_and_uncovers_the_next_scope(backend, pkg):
    backend.secrets.upload(_json({"A": "project"}), "project", "proj")
    backend.secrets.upload(_json({"A": "package", "B": 1}), "package", "proj", "pkg")
    backend.secrets.delete("A", "package", "proj", "pkg")
    assert [s.name for s in backend.secrets.list("package", "proj", "pkg")] == ["B"]
    assert backend.secrets.resolve("A", "proj", "pkg") == "project"


def test_delete_of_missing_secret_is_not_found_naming_it(backend, pkg):
    with pytest.raises(NotFound, match="'NOPE'.*project 'proj'"):
        backend.secrets.delete("NOPE", "project", "proj")


def test_deleting_a_package_removes_its_secrets_and_data_key(backend, pkg, tmp_path):
    backend.secrets.upload(_json({"P": 1}), "project", "proj")
    backend.secrets.upload(_json(SEED), "package", "proj", "pkg")
    backend.packages.delete("proj", "pkg")
    assert not [r for r in _rows(backend, "secrets") if r[2] == pkg]
    assert not [r for r in _rows(backend, "data_keys") if r[2] == pkg]
    # The project's secrets and key stay.
    assert backend.secrets.resolve("P", "proj") == 1


def test_deleting_a_project_removes_its_and_its_packages_secrets_and_data_keys(backend, pkg, tmp_path):
    backend.secrets.upload(_json({"PLAT": 1}), "platform")
    backend.secrets.upload(_json({"P": 1}), "project", "proj")
    backend.secrets.upload(_json(SEED), "package", "proj", "pkg")
    backend.projects.delete("proj")
    assert [(r[1], r[2]) for r in _rows(backend, "secrets")] == [("platform", PLATFORM_ID)]
    assert [(r[1], r[2]) for r in _rows(backend, "data_keys")] == [("platform", PLATFORM_ID)]
    assert _rows(backend, "packages") == []


def test_a_recreated_package_does_not_inherit_old_secrets(backend, pkg):
    backend.secrets.upload(_json(SEED), "package", "proj", "pkg")
    backend.packages.delete("proj", "pkg")
    backend.packages.create("proj", "pkg")
    assert backend.secrets.resolve("DB_PASS", "proj", "pkg") is None


def test_package_create_with_secrets_upload_resolves_like_seed(backend):
    backend.projects.create("proj")
    out = backend.packages.create("proj", "pkg", secrets=Upload("secrets.json", _json(SEED)))
    assert out["secrets"] == {"stored": ["DB_NAME", "DB_PASS"]}
    assert backend.secrets.resolve("DB_PASS", "proj", "pkg") == "supersecretpas$"
