"""Invariant 7 for secrets.json: bad input gets a typed error that says what is wrong, and
nothing is half-stored (a valid entry beside a bad one is not stored either)."""
import codecs
import json

import pytest

from dx_jupyter.errors import DXError, InvalidContent, InvalidInput, NotFound, TooLarge
from dx_jupyter.secrets_file import Limits
from dx_jupyter.services.secrets import SecretsService
from postgres import sql_rows

LIMITS = Limits(max_file_bytes=64 * 1024, max_value_bytes=256, max_depth=64)


@pytest.fixture
def svc(backend):
    """A secrets service with small limits, on the backend's real store and keyring."""
    backend.projects.create("proj")
    backend.packages.create("proj", "pkg")
    return SecretsService(backend.store, backend.keyring, LIMITS)


@pytest.fixture
def seeded(svc):
    """The package scope holds SEEDED = "orig-2" at version 2 before each bad upload."""
    svc.upload(b'{"SEEDED": "orig-1"}', "package", "proj", "pkg")
    svc.upload(b'{"SEEDED": "orig-2"}', "package", "proj", "pkg")
    return _snapshot(svc)


def _snapshot(svc):
    return (
        [s.to_dict() for s in svc.list("package", "proj", "pkg")],
        svc.resolve_scoped(svc_package_id(svc)),
    )


def svc_package_id(svc):
    from dx_jupyter.services.owners import get_package

    with svc.store.read() as session:
        return get_package(session, "proj", "pkg").id


def _obj(**pairs) -> bytes:
    return json.dumps(pairs).encode()


def _bad_name(name: str) -> bytes:
    return json.dumps({"NEW_OK": "fine", name: "v"}).encode()


CASES = [
    # (id, file bytes, error class, substring of the message)
    ("not-json", b"DB_PASS=supersecret", InvalidContent, "not valid JSON"),
    ("array-at-top", b'[{"A": 1}]', InvalidContent, "not a JSON array"),
    ("string-at-top", b'"A"', InvalidContent, "not a JSON string"),
    ("number-at-top", b"42", InvalidContent, "not a JSON number"),
    ("null-at-top", b"null", InvalidContent, "not a JSON null"),
    ("boolean-at-top", b"true", InvalidContent, "not a JSON boolean"),
    ("duplicate-keys", b'{"NEW_OK": 1, "A": 1, "A": 2}', InvalidContent, "duplicate key 'A'"),
    ("nested-duplicate-keys", b'{"NEW_OK": 1, "A": {"x": 1, "x": 2}}', InvalidContent, "duplicate key 'x'"),
    ("name-starts-with-digit", _bad_name("1PASS"), InvalidContent, "'1PASS' is not valid"),
    ("name-starts-with-dot", _bad_name(".PASS"), InvalidContent, "'.PASS' is not valid"),
    ("name-with-space", _bad_name("DB PASS"), InvalidContent, "'DB PASS' is not valid"),
    ("name-with-slash", _bad_name("db/pass"), InvalidContent, "'db/pass' is not valid"),
    ("name-with-unicode-letter", _bad_name("pässword"), InvalidContent, "'pässword' is not valid"),
    ("name-with-nul", _bad_name("A\x00B"), InvalidContent, "is not valid"),
    ("name-empty", _bad_name(""), InvalidContent, "must not be empty"),
    ("name-129-chars", _bad_name("N" * 129), InvalidContent, "129 characters long; the limit is 128"),
    ("value-too-long", _obj(NEW_OK="fine", BIG="x" * 300), TooLarge, "'BIG' is 302 bytes as JSON; the limit is 256"),
    ("file-too-big", _obj(**{f"K{i}": "v" * 200 for i in range(400)}), TooLarge, "the limit is 65536 bytes"),
    ("invalid-utf8", b'{"NEW_OK": "caf\xe9"}', InvalidContent, "not UTF-8 text (bad byte at offset 15)"),
    ("utf16-file", codecs.BOM_UTF16_LE + '{"A": 1}'.encode("utf-16-le"), InvalidContent, "not UTF-8"),
    ("empty-file", b"", InvalidContent, "is empty"),
    ("whitespace-only", b" \n\t\r\n ", InvalidContent, "is empty"),
    ("bom-only", codecs.BOM_UTF8, InvalidContent, "is empty"),
    ("nan", b'{"NEW_OK": 1, "A": NaN}', InvalidContent, "NaN is not valid JSON"),
    ("infinity", b'{"NEW_OK": 1, "A": Infinity}', InvalidContent, "Infinity is not valid JSON"),
    ("negative-infinity", b'{"NEW_OK": 1, "A": -Infinity}', InvalidContent, "-Infinity is not valid JSON"),
    ("float-overflow", b'{"NEW_OK": 1, "A": 1e400}', InvalidContent, "'A' is not a JSON value"),
    ("huge-integer", b'{"NEW_OK": 1, "A": ' + b"9" * 5000 + b"}", InvalidContent, "4300 digits"),
    ("null-value", b'{"NEW_OK": 1, "A": null}', InvalidContent, "'A' is null"),
    ("trailing-garbage", b'{"NEW_OK": 1} trailing', InvalidContent, "Extra data at line 1"),
    ("two-documents", b'{"NEW_OK": 1}\n{"B": 2}', InvalidContent, "Extra data at line 2"),
    ("truncated", b'{"NEW_OK": 1, "A": "supersec', InvalidContent, "not valid JSON"),
    ("unclosed-object", b'{"NEW_OK": 1', InvalidContent, "not valid JSON"),
    ("single-quotes", b"{'NEW_OK': 1}", InvalidContent, "not valid JSON"),
    ("trailing-comma", b'{"NEW_OK": 1,}', InvalidContent, "not valid JSON"),
    ("comment", b'{"NEW_OK": 1 // note\n}', InvalidContent, "not valid JSON"),
    ("raw-control-char", b'{"NEW_OK": "a\x01b"}', InvalidContent, "Invalid control character"),
    ("lone-surrogate", b'{"NEW_OK": 1, "A": "\\ud800"}', InvalidContent, "'A' is not a JSON value"),
    ("deeply-nested-document", b'{"A": ' + b"[" * 20000 + b"]" * 20000 + b"}", InvalidContent, "nested too deeply"),
    ("value-deeper-than-limit", b'{"NEW_OK": 1, "A": ' + b"[" * 65 + b"]" * 65 + b"}", InvalidContent,
     "'A' is nested too deeply; the limit is 64"),
    ("recursion-edge-value", b'{"NEW_OK": 1, "A": ' + b"[" * 990 + b"]" * 990 + b"}", InvalidContent,
     "nested too deeply"),
]


@pytest.mark.parametrize("data, error, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_secrets_file_is_refused_and_stores_nothing(svc, seeded, data, error, message):
    with pytest.raises(DXError) as caught:
        svc.upload(data, "package", "proj", "pkg")
    assert type(caught.value) is error
    assert message in str(caught.value)
    assert str(caught.value) == caught.value.message
    assert _snapshot(svc) == seeded


@pytest.mark.parametrize("mode", ["upsert", "replace"])
def test_bad_file_in_either_mode_stores_and_deletes_nothing(svc, seeded, mode):
    with pytest.raises(InvalidContent):
        svc.upload(b'{"OTHER": 1, "A": null}', "package", "proj", "pkg", mode=mode)
    assert _snapshot(svc) == seeded


def test_upload_of_text_instead_of_bytes_is_invalid_input(svc, seeded):
    with pytest.raises(InvalidInput, match="must be given as bytes"):
        svc.upload('{"A": 1}', "package", "proj", "pkg")
    assert _snapshot(svc) == seeded


def test_unknown_upload_mode_is_invalid_input(svc, seeded):
    with pytest.raises(InvalidInput, match="unknown upload mode 'merge'"):
        svc.upload(b'{"A": 1}', "package", "proj", "pkg", mode="merge")
    assert _snapshot(svc) == seeded


# ----- accepted edge cases -----
def test_utf8_bom_with_valid_json_is_accepted(svc, seeded):
    svc.upload(codecs.BOM_UTF8 + b'{"WITH_BOM": "yes"}', "package", "proj", "pkg")
    assert svc.resolve("WITH_BOM", "proj", "pkg") == "yes"


def test_name_of_128_chars_is_accepted(svc, seeded):
    svc.upload(_obj(**{"N" * 128: 1}), "package", "proj", "pkg")
    assert svc.resolve("N" * 128, "proj", "pkg") == 1


@pytest.mark.parametrize("name", ["_private", "-dash", "a.b.c", "A-1_x.y", "lower", "X"])
def test_names_with_allowed_characters_are_accepted(svc, name):
    svc.upload(_obj(**{name: "v"}), "package", "proj", "pkg")
    assert svc.resolve(name, "proj", "pkg") == "v"


def test_value_exactly_at_the_size_limit_is_accepted(svc):
    value = "x" * (LIMITS.max_value_bytes - 2)  # plus two quotes
    svc.upload(_obj(AT_LIMIT=value), "package", "proj", "pkg")
    assert svc.resolve("AT_LIMIT", "proj", "pkg") == value


def test_value_exactly_at_the_depth_limit_is_accepted(svc):
    value = json.loads("[" * 64 + "]" * 64)
    svc.upload(json.dumps({"DEEP": value}).encode(), "package", "proj", "pkg")
    assert svc.resolve("DEEP", "proj", "pkg") == value


def test_empty_object_stores_nothing_and_is_accepted(svc, seeded):
    result = svc.upload(b"{}", "package", "proj", "pkg")
    assert result.stored == []
    assert _snapshot(svc) == seeded


def test_empty_object_in_replace_mode_deletes_the_scope(svc, seeded):
    result = svc.upload(b"{}", "package", "proj", "pkg", mode="replace")
    assert result.deleted == ["SEEDED"]
    assert svc.list("package", "proj", "pkg") == []


# ----- set() with bad values -----
@pytest.mark.parametrize(
    "name, value, error, message",
    [
        ("A", None, InvalidContent, "'A' is null"),
        ("A", {1, 2}, InvalidInput, "'A' is not a JSON value"),
        ("A", float("nan"), InvalidInput, "'A' is not a JSON value"),
        ("A", "x" * 300, TooLarge, "the limit is 256"),
        ("9A", "v", InvalidInput, "'9A' is not valid"),
        ("", "v", InvalidInput, "must not be empty"),
        (7, "v", InvalidInput, "must be a string, got int"),
    ],
    ids=["null", "python-set", "nan", "too-long", "bad-name", "empty-name", "non-string-name"],
)
def test_set_with_bad_value_or_name_is_refused_and_stores_nothing(svc, seeded, name, value, error, message):
    with pytest.raises(DXError) as caught:
        svc.set(name, value, "package", "proj", "pkg")
    assert type(caught.value) is error
    assert message in str(caught.value)
    assert _snapshot(svc) == seeded


def test_set_with_a_cyclic_value_is_refused(svc, seeded):
    cyclic: list = []
    cyclic.append(cyclic)
    with pytest.raises(DXError):
        svc.set("A", cyclic, "package", "proj", "pkg")
    assert _snapshot(svc) == seeded


# ----- owners and scopes -----
OWNER_CASES = [
    ("unknown-project", ("project", "nope", None), NotFound, "project 'nope' does not exist"),
    ("unknown-project-of-package", ("package", "nope", "pkg"), NotFound, "project 'nope' does not exist"),
    ("unknown-package", ("package", "proj", "nope"), NotFound, "package 'nope' does not exist in project 'proj'"),
    ("unknown-scope", ("team", "proj", None), InvalidInput, "unknown scope 'team'"),
    ("scope-not-a-string", (None, "proj", None), InvalidInput, "scope must be a string"),
    ("package-scope-without-package", ("package", "proj", None), InvalidInput, "package scope needs a package name"),
    ("service-scope-without-package", ("service", "proj", None), InvalidInput, "package scope needs a package name"),
    ("project-scope-without-project", ("project", None, None), InvalidInput, "project scope needs a project name"),
    ("package-scope-without-project", ("package", None, "pkg"), InvalidInput, "package scope needs a project name"),
    ("bad-project-name", ("project", "../etc", None), InvalidInput, "project name '../etc' is not valid"),
]


def _data_key_count(store) -> int:
    return sql_rows(store, "SELECT count(*) FROM data_keys")[0][0]


@pytest.mark.parametrize("where, error, message", [c[1:] for c in OWNER_CASES], ids=[c[0] for c in OWNER_CASES])
def test_upload_to_bad_owner_is_refused_and_stores_nothing(svc, seeded, tmp_path, where, error, message):
    scope, project, package = where
    keys_before = _data_key_count(svc.store)
    with pytest.raises(DXError) as caught:
        svc.upload(b'{"A": 1}', scope, project, package)
    assert type(caught.value) is error
    assert message in str(caught.value)
    assert _data_key_count(svc.store) == keys_before
    assert _snapshot(svc) == seeded


@pytest.mark.parametrize("where, error, message", [c[1:] for c in OWNER_CASES], ids=[c[0] for c in OWNER_CASES])
def test_list_of_bad_owner_is_refused(svc, where, error, message):
    with pytest.raises(error, match=message.replace(".", r"\.")):
        svc.list(*where)


def test_resolve_with_package_but_no_project_is_invalid_input(svc):
    with pytest.raises(InvalidInput, match="package is addressed with its project name"):
        svc.resolve("A", None, "pkg")


def test_resolve_of_bad_secret_name_is_invalid_input(svc):
    with pytest.raises(InvalidInput, match="'1A' is not valid"):
        svc.resolve("1A", "proj", "pkg")


def test_no_nesting_depth_near_the_recursion_limit_escapes_as_a_non_dx_error(svc, seeded):
    """Around the interpreter's recursion limit, json.loads may succeed while json.dumps (a few
    frames deeper) fails: every depth must still end in InvalidContent, never a RecursionError."""
    import sys

    roomy = SecretsService(svc.store, svc.keyring, Limits(max_file_bytes=64 * 1024, max_value_bytes=64 * 1024))
    limit = sys.getrecursionlimit()
    for depth in range(max(65, limit - 200), limit + 5):
        data = b'{"A": ' + b"[" * depth + b"]" * depth + b"}"
        with pytest.raises(InvalidContent, match="nested too deeply"):
            roomy.upload(data, "package", "proj", "pkg")
    assert _snapshot(svc) == seeded
