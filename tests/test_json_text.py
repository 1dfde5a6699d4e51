"""json_text.loads, the stream judges' parser: the same value and the same exception as json.loads, always."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oimi_conformance.json_text import JSONText, loads


def outcome(parse: Any, text: str) -> tuple:
    """What parsing gives: the value (and its repr, so 1 and 1.0 differ), or the exception's type, text and place."""
    try:
        value = parse(text)
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__, str(exc), getattr(exc, "pos", None)
    return "value", repr(value), type(value).__name__


EDGES = [
    '{"a":1}', "[1,2]", '"s"', "1", "-0", "1e400", "NaN", "-Infinity", "true", "null",
    ' {"a":1}', '{"a":1} ', "\t[1]\n", "\ufeff{}", "\ufeff", "", "  ", "nul", "{", '{"a" 1}', "[1,2",
    '{"x":1,}', '{"a":1}{"b":2}', '{"a":1} x', '"\\ud800"', '{"a":1,"a":2}', "1" * 5000, "[" * 100_000,
    '{"a":"\\u00e9\\n"}', '"\x00"',
]


@pytest.mark.parametrize("text", EDGES)
def test_edges_parse_as_json_loads_does(text: str) -> None:
    assert outcome(loads, text) == outcome(json.loads, text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=' \t\n\r{}[]",:0123456789-+.eEtrufalsnNIiy\\u\ufeff', max_size=40))
def test_any_text_parses_as_json_loads_does(text: str) -> None:
    assert outcome(loads, text) == outcome(json.loads, text)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.sampled_from(["", " ", "\n", "x"]), st.booleans())
def test_any_document_parses_as_json_loads_does(value: Any, around: str, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    for variant in (text, around + text, text + around):
        assert outcome(loads, variant) == outcome(json.loads, variant)


def _reject(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@pytest.mark.parametrize("text", ["[NaN]", '{"a":Infinity}', '{"a":1}', " [1] ", "[1"])
def test_options_are_json_loads_options(text: str) -> None:
    strict = JSONText(parse_constant=_reject).loads
    assert outcome(strict, text) == outcome(lambda t: json.loads(t, parse_constant=_reject), text)
