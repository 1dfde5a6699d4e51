"""read_stream / read_all: limits, timeouts, connection errors and cleanup of the chunk source."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from oimi_conformance.json_array import JSONArrayReader
from oimi_conformance.sse import SSEReader
from oimi_conformance.stream_limits import (
    REASONS,
    StreamLimits,
    StreamStop,
    StreamTranscript,
    read_all,
    read_stream,
)

from .real_traffic import TRAFFIC_DIR

SSE_BODY = b"data: one\n\nevent: e\ndata: two\n\ndata: [DONE]\n\n"
ARRAY_BODY = b'[{"a": 1}\r\n,\r\n{"b": "\xe2\x82\xac"}\r\n]'
GEMINI_ARRAY = TRAFFIC_DIR / "gemini__streamGenerateContent__llm-gemini__test_prompt__0.json"


class Source:
    """An async chunk iterator that records whether it was closed, like an HTTP body stream."""

    def __init__(self, chunks: list[bytes], *, delay: float = 0.0, then_sleep: float = 0.0,
                 then_raise: BaseException | None = None) -> None:
        self.chunks = chunks
        self.delay = delay
        self.then_sleep = then_sleep
        self.then_raise = then_raise
        self.closed = False
        self.sent = 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        if self.sent < len(self.chunks):
            await asyncio.sleep(self.delay)
            self.sent += 1
            return self.chunks[self.sent - 1]
        if self.then_sleep:
            await asyncio.sleep(self.then_sleep)
        if self.then_raise is not None:
            raise self.then_raise
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self.closed = True


def run(chunks: AsyncIterator[bytes], reader: object, limits: StreamLimits | None = None,
        **kwargs: object) -> tuple[StreamTranscript, float]:
    start = time.monotonic()
    transcript = asyncio.run(read_stream(chunks, reader, limits, **kwargs))  # type: ignore[arg-type]
    return transcript, time.monotonic() - start


# -- StreamStop ---------------------------------------------------------------------------------

def test_stream_stop_fields_and_kinds() -> None:
    stop = StreamStop("invalid-json", "element 3: Expecting value", offset=120)
    assert (stop.reason, stop.detail, stop.offset, stop.items) == ("invalid-json", "element 3: Expecting value",
                                                                    120, [])
    assert str(stop) == "invalid-json at byte 120: element 3: Expecting value"
    assert stop.as_dict() == {"reason": "invalid-json", "detail": "element 3: Expecting value", "offset": 120}
    assert not stop.is_transport
    violation = stop.as_violation(3)
    assert violation.rule == "stream.invalid-json" and violation.pointer == "/events/3"
    assert {s for s in REASONS if StreamStop(s).is_transport} == {
        "idle-timeout", "total-timeout", "byte-limit", "truncated", "connection-error"}
    with pytest.raises(ValueError):
        StreamStop("slow")


def test_default_limits() -> None:
    assert StreamLimits() == StreamLimits(idle_timeout=30.0, total_timeout=120.0, max_bytes=16 * 1024 * 1024)


# -- read_all -----------------------------------------------------------------------------------

def test_read_all_clean_sse() -> None:
    transcript = read_all(SSE_BODY, SSEReader())
    assert transcript.ok and [e.data for e in transcript.items] == ["one", "two", "[DONE]"]
    assert transcript.bytes_read == len(SSE_BODY)
    assert transcript.first_byte_at is None and transcript.chunk_arrivals == []
    assert {e.arrival for e in transcript.items} == {0.0}


def test_read_all_truncated_sse_becomes_a_stop() -> None:
    transcript = read_all(SSE_BODY + b"data: cut", SSEReader())
    assert len(transcript.items) == 3
    assert transcript.stop is not None
    assert (transcript.stop.reason, transcript.stop.offset) == ("truncated", len(SSE_BODY))
    assert "mid-event" in transcript.stop.detail


def test_read_all_invalid_utf8_keeps_earlier_events() -> None:
    transcript = read_all(b"data: ok\n\ndata: \xc3\x28\n\n", SSEReader())
    assert [e.data for e in transcript.items] == ["ok"]
    assert transcript.stop is not None and (transcript.stop.reason, transcript.stop.offset) == ("invalid-utf8", 16)
    assert transcript.stop.items == []  # moved into the transcript, not kept twice


@pytest.mark.parametrize(("body", "reason", "count"), [
    (ARRAY_BODY, None, 2),
    (ARRAY_BODY[:-1], "truncated", 2),
    (ARRAY_BODY[:-10], "truncated", 1),
    (b'[{"a": 1} {"b": 2}]', "framing", 1),
    (b'[{"a": 1}, {"b": }]', "invalid-json", 1),
])
def test_read_all_json_array(body: bytes, reason: str | None, count: int) -> None:
    transcript = read_all(body, JSONArrayReader())
    assert (transcript.stop.reason if transcript.stop else None) == reason
    assert len(transcript.items) == count


def test_read_all_byte_limit_keeps_events_wholly_inside() -> None:
    transcript = read_all(SSE_BODY, SSEReader(), StreamLimits(max_bytes=30))
    assert [e.data for e in transcript.items] == ["one"]  # "two" ends at byte 31
    assert transcript.stop is not None and (transcript.stop.reason, transcript.stop.offset) == ("byte-limit", 30)


# -- read_stream: normal reading ------------------------------------------------------------------

def test_read_stream_matches_read_all_and_records_timing() -> None:
    chunks = [SSE_BODY[i:i + 7] for i in range(0, len(SSE_BODY), 7)]
    source = Source([b"", *chunks])  # an empty chunk is not an arrival
    transcript, _ = run(source, SSEReader())
    assert transcript.ok
    assert [(e.data, e.offset) for e in transcript.items] == [
        (e.data, e.offset) for e in read_all(SSE_BODY, SSEReader()).items]
    assert transcript.bytes_read == len(SSE_BODY)
    assert [size for _, size in transcript.chunk_arrivals] == [len(c) for c in chunks]
    times = [t for t, _ in transcript.chunk_arrivals]
    assert transcript.first_byte_at == times[0] and times == sorted(times)
    assert all(e.arrival in times for e in transcript.items)
    assert not source.closed  # a finished source is left to end by itself


def test_read_stream_uses_the_given_clock_relative_to_start() -> None:
    ticks = iter(range(100, 1000))
    transcript, _ = run(Source([b"data: a\n\n", b"data: b\n\n"]), SSEReader(), clock=lambda: float(next(ticks)))
    assert transcript.first_byte_at is not None and 0 < transcript.first_byte_at < 10
    assert [e.arrival for e in transcript.items] == [t for t, _ in transcript.chunk_arrivals]


def test_read_stream_truncated_at_end() -> None:
    transcript, _ = run(Source([SSE_BODY, b"data: cut\n"]), SSEReader())
    assert transcript.stop is not None and transcript.stop.reason == "truncated"
    assert transcript.stop.offset == len(SSE_BODY) and len(transcript.items) == 3


def test_read_stream_async_generator_source() -> None:
    async def gen() -> AsyncIterator[bytes]:
        for i in range(0, len(ARRAY_BODY), 3):
            yield ARRAY_BODY[i:i + 3]

    transcript, _ = run(gen(), JSONArrayReader())
    assert transcript.ok and [e.value for e in transcript.items] == [{"a": 1}, {"b": "\u20ac"}]


@pytest.mark.usefixtures("real_traffic")
def test_read_stream_real_gemini_array_in_small_chunks() -> None:
    assert GEMINI_ARRAY.is_file(), f"the corpus lacks {GEMINI_ARRAY.name}"
    body = json.loads(GEMINI_ARRAY.read_text(encoding="utf-8"))["response_body"].encode()
    transcript, _ = run(Source([body[i:i + 50] for i in range(0, len(body), 50)]), JSONArrayReader())
    assert transcript.ok and [e.value for e in transcript.items] == json.loads(body)


# -- read_stream: stops ---------------------------------------------------------------------------
# No wall-clock margins: each source stalls for 30 s (or trickles for 4 s), so the stop reason alone proves the
# limit cut it short; a broken limit would end the stream without a stop, or with another reason.

def test_idle_timeout_stops_in_bounded_time_and_closes_the_source() -> None:
    source = Source([b"data: one\n\n", b"data: par"], then_sleep=30)
    transcript, _ = run(source, SSEReader(), StreamLimits(idle_timeout=0.2, total_timeout=10))
    assert transcript.stop is not None and transcript.stop.reason == "idle-timeout"
    assert transcript.stop.offset == 20 and [e.data for e in transcript.items] == ["one"]
    assert source.closed


def test_idle_timeout_closes_an_async_generator() -> None:
    state = {"finally": False}

    async def gen() -> AsyncIterator[bytes]:
        try:
            yield b"data: one\n\n"
            await asyncio.sleep(30)
            yield b"data: never\n\n"
        finally:
            state["finally"] = True

    transcript, _ = run(gen(), SSEReader(), StreamLimits(idle_timeout=0.2))
    assert transcript.stop is not None and transcript.stop.reason == "idle-timeout"
    assert state["finally"]


def test_total_timeout_with_a_slow_trickle() -> None:
    body = b"data: " + b"x" * 200 + b"\n\n"
    source = Source([body[i:i + 1] for i in range(len(body))], delay=0.02)
    transcript, _ = run(source, SSEReader(), StreamLimits(idle_timeout=1.0, total_timeout=0.3))
    assert transcript.stop is not None and transcript.stop.reason == "total-timeout"
    assert 0 < transcript.bytes_read < len(body) and transcript.items == []
    assert transcript.stop.offset == transcript.bytes_read
    assert source.closed


def test_total_timeout_when_the_budget_ends_inside_a_wait() -> None:
    source = Source([b"data: a\n\n"], then_sleep=30)
    transcript, _ = run(source, SSEReader(), StreamLimits(idle_timeout=5.0, total_timeout=0.25))
    assert transcript.stop is not None and transcript.stop.reason == "total-timeout"
    assert [e.data for e in transcript.items] == ["a"]


def test_byte_limit_stops_and_closes() -> None:
    source = Source([SSE_BODY[:20], SSE_BODY[20:], b"data: more\n\n"])
    transcript, _ = run(source, SSEReader(), StreamLimits(max_bytes=30))
    assert transcript.stop is not None and (transcript.stop.reason, transcript.stop.offset) == ("byte-limit", 30)
    assert [e.data for e in transcript.items] == ["one"]
    assert transcript.bytes_read == len(SSE_BODY) and source.sent == 2
    assert source.closed


@pytest.mark.parametrize("error", [
    httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
    httpx.ReadError("connection reset"),
    TimeoutError("socket timeout"),  # the source's own timeout is not our idle timeout
    ConnectionResetError(104, "reset"),
])
def test_iterator_errors_become_connection_error(error: Exception) -> None:
    source = Source([b"data: one\n\n"], then_raise=error)
    transcript, _ = run(source, SSEReader(), StreamLimits(idle_timeout=5))
    assert transcript.stop is not None and transcript.stop.reason == "connection-error"
    assert type(error).__name__ in transcript.stop.detail
    assert transcript.stop.offset == 11 and [e.data for e in transcript.items] == ["one"]
    assert source.closed


def test_reader_stop_mid_stream_closes_the_source() -> None:
    source = Source([b"data: ok\n\n", b"data: \xff\n\n", b"data: after\n\n"])
    transcript, _ = run(source, SSEReader())
    assert transcript.stop is not None and (transcript.stop.reason, transcript.stop.offset) == ("invalid-utf8", 16)
    assert [e.data for e in transcript.items] == ["ok"] and source.sent == 2 and source.closed


def test_httpx_stream_end_to_end() -> None:
    """Through a real httpx response: a body that breaks off becomes connection-error."""

    class Body(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b"data: one\n\n"
            yield b"data: tw"
            raise httpx.ReadError("connection reset by peer")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Body())

    async def main() -> StreamTranscript:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client, \
                client.stream("POST", "http://gateway.test/v1/chat/completions") as response:
            return await read_stream(response.aiter_bytes(), SSEReader(), StreamLimits(idle_timeout=2))

    transcript = asyncio.run(main())
    assert transcript.stop is not None and transcript.stop.reason == "connection-error"
    assert "ReadError" in transcript.stop.detail and [e.data for e in transcript.items] == ["one"]
