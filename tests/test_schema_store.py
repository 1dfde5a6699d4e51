"""The schema files themselves: valid 2020-12 schemas, compiled once, and the fast validator agreeing
with the reference implementation on every instance we have."""

from __future__ import annotations

import json

import jsonschema
import pytest

from oimi_conformance.schemas import default_store
from oimi_conformance.specdir import spec_root

from . import bodies as b
from .real_traffic import exchanges, kind_for, load

STORE = default_store()


@pytest.mark.parametrize("name", STORE.names())
def test_schema_file_is_a_valid_2020_12_schema(name):
    contents = json.loads((spec_root() / "schemas" / name).read_text())
    jsonschema.Draft202012Validator.check_schema(contents)
    assert contents.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    assert "$id" not in contents, "files are registered by their file URI; an $id would break relative $refs"
    assert contents.get("title") and contents.get("description")


def test_every_schema_file_compiles_fast():
    for name in STORE.names():
        assert STORE.get(name)._fast is not None, name


def test_compiled_once():
    assert STORE.get("openai/chat.completion.json") is STORE.get("openai/chat.completion.json")


def _instances():
    from oimi_conformance.kinds import get_kind
    for path in exchanges():
        exchange = load(path)
        kind = kind_for(exchange)
        if kind.startswith("skip:") or get_kind(kind).framing != "json":
            continue
        yield get_kind(kind).schema, json.loads(exchange["response_body"])
    for kind, body in b.VALID_JSON_BODIES.items():
        yield get_kind(kind).schema, body
        broken = dict(body)
        broken.pop(next(iter(body)))
        yield get_kind(kind).schema, broken


def test_fast_and_reference_validators_agree():
    checked = disagreements = 0
    for schema, instance in _instances():
        compiled = STORE.get(schema)
        checked += 1
        if compiled._fast.is_valid(instance) != compiled._reference.is_valid(instance):
            disagreements += 1
    assert checked > 250
    assert disagreements == 0


def test_violation_names_the_file_and_place_of_the_rule():
    body = dict(b.ANTHROPIC_MESSAGE, usage={"input_tokens": 1, "output_tokens": "2"})
    [violation] = STORE.get("anthropic/message.json").violations(body)
    assert violation.pointer == "/usage/output_tokens"
    assert violation.spec.startswith("specs/schemas/anthropic/")
    assert violation.spec.split("#", 1)[1].endswith("/type")
