"""Bytes on the wire for streams: SSE and Gemini's JSON-array framing, sent really incrementally.

A stream is built as a list of ``Frame``s (so deviations can edit it as data), encoded to one chunk of
bytes per event, then sent by an async generator that sleeps ``stream_interval_s`` between chunks.
The ``delivery.*`` deviations and ``robustness.invalid-utf8`` act here, on the chunks, for every stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.responses import StreamingResponse

from .context import RequestContext
from .error_bodies import REQUEST_ID_HEADER

STALL_SECONDS = 60.0


@dataclass
class Frame:
    """One stream event. ``data`` is a JSON object or a raw string (``[DONE]``); ``comment`` makes it an
    SSE comment line (``: PING``) instead."""

    data: Any = None
    event: str | None = None
    comment: str | None = None
    raw: str | None = None  # written as is, outside SSE framing (an error body appended to a stream)


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def encode_sse(frames: Sequence[Frame], newline: str = "\n") -> list[bytes]:
    chunks = []
    for frame in frames:
        if frame.raw is not None:
            text = frame.raw
        elif frame.comment is not None:
            text = f": {frame.comment}{newline}{newline}"
        else:
            payload = frame.data if isinstance(frame.data, str) else dumps(frame.data)
            head = f"event: {frame.event}{newline}" if frame.event else ""
            text = f"{head}data: {payload}{newline}{newline}"
        chunks.append(text.encode("utf-8"))
    return chunks


def encode_json_array(frames: Sequence[Frame]) -> list[bytes]:
    """Google's framing: ``[{...}\\n,\\r\\n{...}\\n]``, one element per chunk, elements pretty-printed."""
    docs = [json.dumps(f.data, ensure_ascii=False, indent=2) for f in frames if f.comment is None]
    if not docs:
        return [b"[]"]
    chunks = [(("[" if i == 0 else "\n,\r\n") + doc).encode("utf-8") for i, doc in enumerate(docs)]
    return [*chunks, b"\n]"]


def _corrupt(chunk: bytes) -> bytes:
    # Bytes 0xFF 0xFE are never valid UTF-8; put them inside the first JSON string value if there is one.
    marker = b'":"'
    if marker in chunk:
        return chunk.replace(marker, marker + b"\xff\xfe", 1)
    return chunk.rstrip(b"\r\n") + b"\xff\xfe\n\n"


async def _deliver(ctx: RequestContext, chunks: list[bytes]) -> AsyncIterator[bytes]:
    interval = ctx.stream_interval_s
    if ctx.has("robustness.invalid-utf8") and chunks:
        middle = len(chunks) // 2
        chunks = [*chunks[:middle], _corrupt(chunks[middle]), *chunks[middle + 1 :]]
    if ctx.has("delivery.buffered"):
        # Everything is produced at the pace of a real stream, but held back and sent at once.
        await asyncio.sleep(interval * len(chunks))
        yield b"".join(chunks)
        return
    if ctx.has("delivery.slow-first-event"):
        await ctx.state.hold(ctx.state.first_event_delay_s)  # headers are out; the first event waits
    half = max(1, len(chunks) // 2)
    for i, chunk in enumerate(chunks):
        if i:
            await asyncio.sleep(interval)
        if i == half and ctx.has("delivery.stall"):
            await ctx.state.hold(STALL_SECONDS)  # the response ends early if the client leaves
            return
        if i == half and ctx.has("delivery.truncated"):
            yield chunk[: max(1, len(chunk) // 2)]
            await asyncio.sleep(interval)  # let the partial event reach the client first
            _drop_connection(ctx)
            await asyncio.sleep(0.05)  # let the server notice the closed socket before the body ends
            return
        yield chunk


def _drop_connection(ctx: RequestContext) -> None:
    if ctx.drop is None:
        # Without a handle on the socket, an exception mid-body makes the server close the connection.
        raise ConnectionAbortedError("sandbox: truncated stream (delivery.truncated)")
    ctx.drop(False)


def stream_response(ctx: RequestContext, chunks: list[bytes], media_type: str) -> StreamingResponse:
    headers = {REQUEST_ID_HEADER: ctx.request_id, "Cache-Control": "no-cache"}
    return StreamingResponse(_deliver(ctx, chunks), media_type=media_type, headers=headers)


def sse_response(ctx: RequestContext, frames: Sequence[Frame], newline: str = "\n") -> StreamingResponse:
    return stream_response(ctx, encode_sse(frames, newline), "text/event-stream")
