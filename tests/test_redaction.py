"""dx_jupyter.redaction: which forms of a secret value are masked, and which are left alone."""
from __future__ import annotations

import json

from dx_jupyter.redaction import MASK, Redactor

PASS = "supersecretpas$"


def test_plain_value_is_masked_everywhere_it_appears():
    r = Redactor([PASS])
    assert r.redact(f"a {PASS} b {PASS}") == f"a {MASK} b {MASK}"


def test_text_without_a_value_is_unchanged():
    assert Redactor([PASS]).redact("nothing to see\n") == "nothing to see\n"


def test_json_escaped_form_of_a_value_with_quotes_and_backslashes_is_masked():
    value = 'pa"ss\\wo/rd'
    text = json.dumps({"password": value})
    assert value not in text  # the escaped form differs from the raw one
    assert Redactor([value]).redact(text) == json.dumps({"password": MASK})


def test_json_escaped_non_ascii_value_is_masked_in_both_encodings():
    value = "pässwörd-ü"
    r = Redactor([value])
    assert r.redact(json.dumps(value)) == f'"{MASK}"'
    assert r.redact(json.dumps(value, ensure_ascii=False)) == f'"{MASK}"'


def test_json_inside_a_json_string_is_masked():
    value = 'quo"te-secret'
    text = json.dumps({"body": json.dumps({"pw": value})})
    assert MASK in Redactor([value]).redact(text)
    assert "quo" not in Redactor([value]).redact(text)


def test_repr_form_of_a_value_with_a_newline_and_quote_is_masked():
    value = "line1\nit's"
    text = repr({"pw": value})  # {'pw': "line1\nit's"}
    assert Redactor([value]).redact(text) == '{\'pw\': "' + MASK + '"}'


def test_string_leaves_of_a_structured_value_are_masked_one_by_one():
    value = {"user": "admin-user", "password": "hunter2-long", "nested": {"token": ["tok-abcdef"]}}
    r = Redactor([value])
    out = r.redact("user=admin-user pw=hunter2-long t=tok-abcdef")
    assert out == f"user={MASK} pw={MASK} t={MASK}"


def test_whole_structured_value_printed_as_json_or_python_is_masked():
    value = {"user": "admin-user", "password": "hunter2-long"}
    r = Redactor([value])
    for text in (json.dumps(value), json.dumps(value, separators=(",", ":")), str(value)):
        out = r.redact(text)
        assert "admin-user" not in out and "hunter2-long" not in out, out


def test_number_leaves_are_masked():
    assert Redactor([{"pin": 987654}]).redact("pin is 987654") == f"pin is {MASK}"
    assert Redactor([31415.9265]).redact("x=31415.9265") == f"x={MASK}"


def test_values_shorter_than_four_characters_are_not_masked():
    r = Redactor(["abc", 123, {"k": "xy"}])
    assert r.redact("abc 123 xy") == "abc 123 xy"


def test_short_value_is_not_masked_in_its_escaped_forms_either():
    # 'a"b' is 3 characters; its JSON form a\"b is 4, but the rule is about the value
    assert Redactor(['a"b']).redact('x="a\\"b"') == 'x="a\\"b"'


def test_min_length_is_configurable():
    assert Redactor(["abc"], min_length=3).redact("abc") == MASK
    assert Redactor(["abcdef"], min_length=8).redact("abcdef") == "abcdef"


def test_min_length_zero_never_masks_the_empty_string():
    assert Redactor(["", "secret-x"], min_length=0).redact("a secret-x b") == f"a {MASK} b"


def test_booleans_and_null_are_never_masked():
    r = Redactor([True, None, False, {"on": False}])
    assert r.redact("True None False true null false") == "True None False true null false"


def test_no_values_means_no_redaction():
    r = Redactor([])
    assert not r and r.redact("anything") == "anything"


def test_longest_value_wins_when_one_value_contains_another():
    r = Redactor(["secret", "secret-and-more"])
    assert r.redact("secret-and-more") == MASK


def test_regex_characters_in_values_are_literal():
    r = Redactor(["a.b*c+(d)"])
    assert r.redact("a.b*c+(d) aXbbbc+d") == f"{MASK} aXbbbc+d"


def test_redact_head_masks_a_value_that_straddles_the_cut_whole():
    r = Redactor([PASS])
    text = "x" * 10 + PASS + "tail"
    head = r.redact_head(text, 14)  # the cut falls inside the value
    assert head == "x" * 10 + MASK
    assert "supe" not in head


def test_redact_head_drops_a_value_that_begins_after_the_cut():
    r = Redactor([PASS])
    assert r.redact_head("abc" + PASS, 3) == "abc"


def test_redact_head_without_values_is_a_plain_cut():
    assert Redactor([]).redact_head("abcdef", 2) == "ab"


def test_longest_reports_the_widest_masked_form():
    r = Redactor(["ü" * 5])
    assert r.longest >= 5 and r.longest_bytes >= 10
