"""The framings an answer can come in, as one table: which reader parses it, which Content-Types carry it,
and which streamed requests expect it.

Every module that needs to know a framing asks here: the scheduler (the framing a streamed step expects),
the live transport (the reader of an answer as it arrives), the kinds (``specs/kinds.yaml`` names a framing
per kind) and judging (a stream answered in another framing than the one asked for). A new framing is a
reader (the ``stream_limits.StreamReader`` protocol) and one row of ``FRAMINGS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from .json_array import JSONArrayReader
from .sse import SSEReader
from .stream_limits import StreamReader


@dataclass(frozen=True)
class Substitute:
    """How a stream answered in another framing is judged: in that framing, as ``kind``, and said once as
    the violation ``rule`` (a known gateway behaviour, not a broken stream)."""

    framing: str
    kind: str
    rule: str
    message: str


@dataclass(frozen=True)
class Framing:
    name: str
    reader: Callable[[], StreamReader] | None  # None: one JSON document, no events
    content_types: tuple[str, ...]  # what a live answer in this framing says it is ("" : no Content-Type)
    # the Content-Type alone says so: such an answer is read in this framing whatever the request expected
    self_describing: bool = False
    operations: tuple[str, ...] = ()  # the operationIds whose streamed requests expect this framing...
    unless_query: tuple[str, str] | None = None  # ...unless the URL's query holds this (name, value)
    as_event_stream: Substitute | None = None  # a stream of this framing answered text/event-stream


EVENT_STREAM = "text/event-stream"

FRAMINGS: dict[str, Framing] = {f.name: f for f in (
    Framing("json", None, ("application/json",)),
    Framing("sse", SSEReader, (EVENT_STREAM,), self_describing=True),
    # Gemini's streamGenerateContent without alt=sse: a JSON array streamed element by element
    Framing("json_array", JSONArrayReader, ("application/json", ""), operations=("streamGenerateContent",),
            unless_query=("alt", "sse"),
            # its own rule id: gemini.json-array-framing (a warning) reports this known new-api behaviour once
            as_event_stream=Substitute("sse", "gemini.stream.sse", "compat.json-array-as-sse",
                                       "streamGenerateContent without alt=sse answered text/event-stream instead "
                                       "of Google's JSON-array framing")),
)}
STREAM_DEFAULT = "sse"  # a streamed request of any other operation expects server-sent events


def names() -> tuple[str, ...]:
    return tuple(FRAMINGS)


def reader_for(framing: str) -> StreamReader:
    """A fresh reader of a stream framing (``sse``, ``json_array``)."""
    reader = FRAMINGS[framing].reader
    if reader is None:
        raise ValueError(f"framing {framing!r} is not a stream: it has no reader")
    return reader()


def stream_framing(operation: str | None, url: str) -> str:
    """The framing a streamed request of ``operation`` to ``url`` expects."""
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    for framing in FRAMINGS.values():
        if operation in framing.operations and (framing.unless_query is None or framing.unless_query not in query):
            return framing.name
    return STREAM_DEFAULT


def answered_framing(expected: str, content_type: str) -> str:
    """The framing an answer is in: a self-describing Content-Type's (SSE), else the one the request expected."""
    for framing in FRAMINGS.values():
        if framing.self_describing and content_type in framing.content_types:
            return framing.name
    return expected


def live_reader(content_type: str, status: int, expected: str | None) -> StreamReader | None:
    """The reader of a live answer as it arrives, or None to keep its body whole: a self-describing
    Content-Type is read in its framing whatever was asked; an expected framing only on a 2xx answer whose
    Content-Type it allows (an error of a JSON-array stream is one JSON document)."""
    for framing in FRAMINGS.values():
        if framing.self_describing and content_type in framing.content_types and framing.reader is not None:
            return framing.reader()
    wanted = FRAMINGS.get(expected or "")
    if wanted is not None and wanted.reader is not None and 200 <= status < 300 \
            and content_type in wanted.content_types:
        return wanted.reader()
    return None
