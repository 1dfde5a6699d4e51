"""Body templates: {model}, {"$from": ...} and {"$concat": [...]} (plan.fill_template), and the compaction round
trip case that needs them."""

from __future__ import annotations

import json

import pytest

from oimi_conformance.cases import load_cases
from oimi_conformance.exceptions import UsageError
from oimi_conformance.plan import build_request, fill_template

COMPACTED = {"object": "response.compaction", "output": [
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "My name is Ada."}]},
    {"type": "compaction", "id": "cmp_1", "encrypted_content": "opaque"},
]}


def test_model_and_from():
    template = {"model": "{model}", "input": {"$from": "main.output.1.encrypted_content"}}
    assert fill_template(template, "m1", {"main": COMPACTED}) == {"model": "m1", "input": "opaque"}


def test_from_a_missing_or_malformed_path_is_null():
    earlier = {"main": {"error": {"message": "no"}}, "text": "not an object"}
    assert fill_template({"$from": "main.output.0"}, None, earlier) is None
    assert fill_template({"$from": "text.field"}, None, earlier) is None
    assert fill_template({"$from": "absent.x"}, None, earlier) is None
    assert fill_template({"$from": "main.error.message"}, None, earlier) == "no"
    assert fill_template({"$from": "main.error.message.9"}, None, {"main": {"error": {"message": ["a"]}}}) is None


def test_concat_splices_lists_appends_values_and_skips_null():
    template = {"$concat": [{"$from": "main.output"}, [{"role": "user", "content": "{model}?"}],
                            {"$from": "main.missing"}, {"role": "user", "content": "last"}]}
    assert fill_template(template, "m1", {"main": COMPACTED}) == [
        *COMPACTED["output"], {"role": "user", "content": "m1?"}, {"role": "user", "content": "last"}]


def test_concat_of_nothing_is_an_empty_list():
    assert fill_template({"$concat": []}, None, {}) == []
    assert fill_template({"$concat": [{"$from": "main.output"}]}, None, {"main": None}) == []


def test_concat_needs_a_list():
    with pytest.raises(UsageError, match=r"\$concat takes a list"):
        fill_template({"$concat": {"a": 1}}, None, {})


def test_a_dict_with_other_keys_is_an_ordinary_object():
    assert fill_template({"$concat": [], "x": "{model}"}, "m", {}) == {"$concat": [], "x": "m"}


def test_compaction_roundtrip_feeds_the_output_back_with_a_new_user_message():
    case = next(c for c in load_cases() if c.id == "compact.roundtrip")
    main, reuse = case.steps
    assert main.operation == "compactResponse" and reuse.operation == "createResponse"
    _, url, _, body = build_request(case, reuse, "m1", "http://gw.test/v1", {"main": "k"}, {"main": COMPACTED})
    sent = json.loads(body)
    assert url == "http://gw.test/v1/responses"
    assert sent["model"] == "m1"
    assert sent["input"][:2] == COMPACTED["output"]
    assert sent["input"][-1]["role"] == "user" and len(sent["input"]) == 3
