"""JSONArrayReader: Gemini's streamed JSON array, any chunking, framing and JSON stops."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oimi_conformance.json_array import ArrayElement, JSONArrayReader
from oimi_conformance.stream_limits import StreamStop

from .real_traffic import exchanges

MAX_EVERY_OFFSET_BYTES = 8000


def key(element: ArrayElement) -> tuple:
    return (element.value, element.raw, element.index, element.offset)


def read(chunks: list[bytes]) -> tuple[list[tuple], tuple | None]:
    """Elements (without arrival) and the stop, if any, as comparable tuples."""
    reader = JSONArrayReader()
    elements: list[ArrayElement] = []
    try:
        for n, chunk in enumerate(chunks):
            elements += reader.feed(chunk, float(n))
        elements += reader.close()
    except StreamStop as stop:
        return [key(e) for e in elements + stop.items], (stop.reason, stop.offset)
    return [key(e) for e in elements], None


def stop_of(body: bytes) -> StreamStop:
    reader = JSONArrayReader()
    with pytest.raises(StreamStop) as info:
        reader.feed(body, 0.0)
        reader.close()
    return info.value


def load_arrays() -> list[dict]:
    out = []
    for path in exchanges():
        record = json.loads(path.read_text(encoding="utf-8"))
        body = record.get("response_body")
        if record.get("stream") and isinstance(body, str) and body.lstrip().startswith("["):
            out.append({"name": path.stem, "body": body.encode("utf-8")})
    return out


ARRAYS = load_arrays()
needs_traffic = pytest.mark.usefixtures("real_traffic")  # skipped off CI when absent, failed in CI


def representative() -> list[dict]:
    pool = [a for a in ARRAYS if len(a["body"]) <= MAX_EVERY_OFFSET_BYTES]
    return [max(pool, key=lambda a: (not a["body"].isascii(), len(a["body"])))] if pool else []


# -- framing that must be accepted ------------------------------------------------------------

def test_elements_come_out_as_soon_as_they_close() -> None:
    reader = JSONArrayReader()
    assert reader.feed(b'[{"a": 1', 1.0) == []
    (first,) = reader.feed(b'}\r\n,\r\n{"b"', 2.0)
    assert (first.value, first.raw, first.index, first.offset) == ({"a": 1}, '{"a": 1}', 0, 1)
    assert first.arrival == 2.0
    (second,) = reader.feed(b": [1, {}]}\r\n]", 3.0)
    assert (second.value, second.index, second.offset) == ({"b": [1, {}]}, 1, 14)
    assert reader.close() == []


@pytest.mark.parametrize("body", [b"[]", b" \r\n[ \t]\r\n ", b"[{}]", b"\n[\n{}\n,\n{}\n]\n"])
def test_whitespace_and_empty_arrays(body: bytes) -> None:
    elements, stop = read([body])
    assert stop is None and [e[0] for e in elements] == json.loads(body)


def test_braces_quotes_and_escapes_inside_strings() -> None:
    values = [{"t": 'a "quoted" {brace} [bracket]'}, {"t": "back\\slash\\"}, {"t": "\\\"}"},
              {"u": "caf\u00e9 \U0001d11e \u4e2d", "e": "\\u00e9\n"}]
    body = ("[" + ",\r\n".join(json.dumps(v, ensure_ascii=False) for v in values) + "]").encode()
    whole = read([body])
    assert whole[1] is None and [e[0] for e in whole[0]] == values
    for cut in range(len(body) + 1):
        assert read([body[:cut], body[cut:]]) == whole, cut
    assert read([body[i:i + 1] for i in range(len(body))]) == whole


def test_offsets_are_bytes_after_multibyte_text() -> None:
    body = '[{"t": "\u20ac\u20ac"}, {"t": 1}]'.encode()
    elements, _ = read([body])
    assert [e[3] for e in elements] == [1, body.index(b'{"t": 1}')]


def test_element_is_frozen_and_arrival_defaults() -> None:
    (element,) = JSONArrayReader().feed(b"[{}")
    assert element.arrival > 0
    with pytest.raises(AttributeError):
        element.value = 1  # type: ignore[misc]


# -- stops ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "offset"), [
    (b'{"a": 1}', 0),  # not an array
    (b"\xef\xbb\xbf[{}]", 0),  # a BOM is not JSON whitespace
    (b"x[{}]", 0),
    (b"[{} {}]", 4),  # missing comma
    (b"[{},]", 4),  # trailing comma
    (b"[,{}]", 1),
    (b"[{}, x]", 5),
    (b"[1, 2]", 1),  # elements must be objects
    (b'[{}]\r\n{"late": true}', 6),  # anything but whitespace after ']'
    (b"[{}],", 4),
    (b'[{"\xe2\x82\xac": 1}] x', 13),
])
def test_framing_stops(body: bytes, offset: int) -> None:
    stop = stop_of(body)
    assert (stop.reason, stop.offset) == ("framing", offset)


def test_framing_stop_keeps_elements_of_the_same_chunk() -> None:
    stop = stop_of(b'[{"a": 1}, {"b": 2} junk]')
    assert stop.reason == "framing" and [e.value for e in stop.items] == [{"a": 1}, {"b": 2}]


@pytest.mark.parametrize("element", [b'{"a": }', b"{'a': 1}", b'{"a": 1,}', b'{"a": NaN}', b'{"a": [1}',
                                     b'{"a": "line\nbreak"}', b'{"a": tru}'])
def test_invalid_json_element(element: bytes) -> None:
    stop = stop_of(b'[{"ok": 1},\r\n' + element + b"]")
    assert stop.reason == "invalid-json"
    assert 13 <= stop.offset < 13 + len(element) + 1
    assert [e.value for e in stop.items] == [{"ok": 1}]
    assert "element 1" in stop.detail


@pytest.mark.parametrize(("body", "offset"), [
    (b"", 0),
    (b"  [", 3),
    (b'[{"a": 1}', 9),
    (b'[{"a": 1},', 10),
    (b'[{"a": 1}, {"b": "x', 11),  # inside an element: offset of its '{'
    (b'[{"a": 1}, {"b": "\\', 11),  # inside an escape
    (b'[{"a": "\xe2\x82', 1),  # inside a character
])
def test_truncated_before_closing_bracket(body: bytes, offset: int) -> None:
    reader = JSONArrayReader()
    reader.feed(body, 0.0)
    with pytest.raises(StreamStop) as info:
        reader.close()
    assert (info.value.reason, info.value.offset) == ("truncated", offset)
    assert reader.truncated


def test_truncated_inside_element_reports_pending_bytes() -> None:
    reader = JSONArrayReader()
    reader.feed(b'[{"a": 1}, {"b": "xyz', 0.0)
    with pytest.raises(StreamStop):
        reader.close()
    assert reader.pending_bytes == 10


@pytest.mark.parametrize(("chunks", "offset"), [
    ([b'[{"a": "\xff"}]'], 8),
    ([b'[{"a": 1}, {"b": "\xe2\x82', b'A"}]'], 18),  # bad continuation found in the next chunk
    ([b'[{"a": 1}]  \xc3'], 12),  # a cut character after ']'
])
def test_invalid_utf8(chunks: list[bytes], offset: int) -> None:
    _, stop = read(chunks)
    assert stop is not None and stop[1] == offset
    assert stop[0] in ("invalid-utf8", "framing")


def test_invalid_utf8_keeps_elements_and_stays_stopped() -> None:
    reader = JSONArrayReader()
    with pytest.raises(StreamStop) as info:
        reader.feed(b'[{"a": 1}, {"b": "\xff"}]')
    assert info.value.reason == "invalid-utf8" and [e.value for e in info.value.items] == [{"a": 1}]
    with pytest.raises(StreamStop):
        reader.feed(b"]")
    assert reader.close() == []


# -- any chunking, property-based ------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
SEPARATORS = st.sampled_from(["", " ", "\r\n", "\n", "\t", " \r\n "])


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=4), max_size=5),
       seps=st.lists(SEPARATORS, min_size=12, max_size=12), ascii_only=st.booleans(),
       cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=8))
def test_any_chunking_yields_the_array(values: list[dict], seps: list[str], ascii_only: bool,
                                       cuts: list[int]) -> None:
    parts = [json.dumps(v, ensure_ascii=ascii_only) for v in values]
    text = seps[0] + "[" + seps[1]
    for n, part in enumerate(parts):
        text += (seps[2 + n % 8] + "," + seps[3 + n % 8] if n else "") + part
    body = (text + seps[10] + "]" + seps[11]).encode()
    points = sorted({min(c, len(body)) for c in cuts})
    chunks = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    whole = read([body])
    assert whole[1] is None and [e[0] for e in whole[0]] == values
    assert read(chunks) == whole


# -- real recorded streams ---------------------------------------------------------------------

@needs_traffic
@pytest.mark.parametrize("array", representative(), ids=lambda a: a["name"][:60])
def test_real_array_split_at_every_offset(array: dict) -> None:
    body = array["body"]
    whole = read([body])
    for cut in range(len(body) + 1):
        assert read([body[:cut], body[cut:]]) == whole, cut


@needs_traffic
def test_every_real_array_is_accepted_and_byte_by_byte_matches_whole() -> None:
    for array in ARRAYS:
        body = array["body"]
        elements, stop = read([body])
        assert stop is None, (array["name"], stop)
        assert [e[0] for e in elements] == json.loads(body), array["name"]
        assert all(body[e[3]:].startswith(e[1].encode()) for e in elements), array["name"]
        assert read([body[i:i + 1] for i in range(len(body))]) == (elements, None), array["name"]
