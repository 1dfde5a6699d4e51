"""The one framing table: which framing a request expects, which reader reads an answer, and the kinds' framings."""

from __future__ import annotations

import pytest

from oimi_conformance.framing import FRAMINGS, answered_framing, live_reader, reader_for, stream_framing
from oimi_conformance.json_array import JSONArrayReader
from oimi_conformance.kinds import kinds
from oimi_conformance.sse import SSEReader

GEMINI = "http://h/v1beta/models/m:streamGenerateContent"


@pytest.mark.parametrize(("operation", "url", "framing"), [
    ("streamGenerateContent", GEMINI, "json_array"),
    ("streamGenerateContent", GEMINI + "?alt=sse", "sse"),
    ("streamGenerateContent", GEMINI + "?key=k&alt=sse", "sse"),
    ("streamGenerateContent", GEMINI + "?alt=json", "json_array"),
    ("createChatCompletion", "http://h/v1/chat/completions", "sse"),
    ("createMessage", "http://h/v1/messages?alt=sse", "sse"),
])
def test_the_framing_a_streamed_request_expects(operation, url, framing):
    assert stream_framing(operation, url) == framing


def test_the_reader_of_a_live_answer():
    assert isinstance(live_reader("text/event-stream", 500, None), SSEReader)  # self-describing, whatever the status
    assert isinstance(live_reader("text/event-stream", 200, "json_array"), SSEReader)
    assert isinstance(live_reader("application/json", 200, "json_array"), JSONArrayReader)
    assert isinstance(live_reader("", 200, "json_array"), JSONArrayReader)
    assert live_reader("application/json", 400, "json_array") is None  # an error is one JSON document
    assert live_reader("application/json", 200, "sse") is None
    assert live_reader("application/json", 200, None) is None


def test_an_answer_in_a_self_describing_framing_is_read_in_it():
    assert answered_framing("json_array", "text/event-stream") == "sse"
    assert answered_framing("json_array", "application/json") == "json_array"
    assert FRAMINGS["json_array"].as_event_stream is not None
    assert FRAMINGS["json_array"].as_event_stream.kind in kinds()


def test_every_kind_names_a_framing_of_the_table_and_streams_have_readers():
    for kind in kinds().values():
        assert kind.framing in FRAMINGS
        if kind.framing != "json":
            assert reader_for(kind.framing) is not None
    with pytest.raises(ValueError, match="not a stream"):
        reader_for("json")
