"""One request and what came back, as the checks see it and as reports store it (redacted)."""

from __future__ import annotations

import atexit
import dataclasses
import json
import re
import shutil
import tempfile
from array import array
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .stream_limits import StreamStop, read_all

PREVIEW_BYTES = 4096  # what a report shows of a body; the cassette keeps it whole
# The id support asks for: new-api's X-Oneapi-Request-Id (middleware/request-id.go), OpenAI's x-request-id,
# Anthropic's request-id, LiteLLM's x-litellm-call-id, Portkey's x-portkey-trace-id; else the
# "(request id: ...)" suffix new-api puts on its error messages.
REQUEST_ID_HEADERS = ("x-oneapi-request-id", "x-request-id", "request-id", "x-litellm-call-id",
                      "x-portkey-trace-id")
_REQUEST_ID_SUFFIX = re.compile(r"\(request id: ([^)\s]+)\)")
# A body bigger than this is kept in a temporary file, not in memory: a run's memory must not grow
# with the number of big answers (judging reads it back, one at a time).
SPILL_BYTES = 1 << 20
_spill_dir: Path | None = None
_parsed: tuple[str, Any] | None = None  # the last spilled body parsed: checks of one answer run together
_reparsed: tuple[str, list[Any]] | None = None  # the events of the last spilled stream read again


def _spill(data: bytes) -> Path:
    global _spill_dir
    if _spill_dir is None:
        _spill_dir = Path(tempfile.mkdtemp(prefix="oimi-conformance-bodies-"))
        atexit.register(shutil.rmtree, _spill_dir, True)
    with tempfile.NamedTemporaryFile(dir=_spill_dir, delete=False, suffix=".body") as handle:
        handle.write(data)
    return Path(handle.name)


@dataclass
class Exchange:
    """A redacted record of one HTTP exchange.

    ``fault`` is set when no complete answer could be read (refused, reset, timed out before
    headers): a transport fault, reported as an *error*, never as a contract failure.
    ``stop`` is set when a response began but its body ended badly (stall, cut, byte limit).
    """

    id: str
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    events: list[Any] = field(default_factory=list)  # SSEEvent / ArrayElement with arrival times
    stop: StreamStop | None = None
    fault: str | None = None
    started: float = 0.0  # seconds since the run started
    first_byte_at: float | None = None  # seconds from the response headers to the first body byte
    headers_at: float | None = None  # seconds from sending to the response headers (live only)
    elapsed: float = 0.0
    chunk_arrivals: list[tuple[float, int]] = field(default_factory=list)
    attempts: int = 1
    replayed: bool = False
    key_echoes: list[str] = field(default_factory=list)  # which presented keys came back (before redaction)
    missing: str | None = None  # replay: the cassettes do not hold this request (says how to record it)
    wire_bytes: int | None = None  # the body's size as received, before redaction (None: not known)

    @property
    def content_type(self) -> str:
        return self.response_headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def is_event_stream(self) -> bool:
        return self.content_type == "text/event-stream"

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON (or nests too deep to parse)."""
        global _parsed
        spilled = self.__dict__.get("_spilled")
        if spilled is None and "_json" in self.__dict__:
            return self.__dict__["_json"]
        if spilled is not None and _parsed is not None and _parsed[0] == str(spilled):
            return _parsed[1]
        try:
            value = json.loads(self.body)
        except (ValueError, RecursionError, UnicodeDecodeError):
            value = None
        if spilled is None:
            self.__dict__["_json"] = value
        else:
            _parsed = (str(spilled), value)
        return value

    @property
    def event_count(self) -> int:
        return int(self.__dict__.get("_event_count", 0))

    @property
    def body_size(self) -> int:
        """Bytes of the (redacted) body held."""
        return int(self.__dict__.get("_body_size", 0))

    def body_head(self, limit: int) -> bytes:
        """The first ``limit`` bytes of the body, without reading a spilled one whole."""
        spilled = self.__dict__.get("_spilled")
        if spilled is None:
            return self.body[:limit]
        with open(spilled, "rb") as handle:
            return handle.read(limit)

    @cached_property
    def request_json(self) -> Any:
        if self.request_body is None:
            return None
        try:
            return json.loads(self.request_body)
        except (ValueError, RecursionError, UnicodeDecodeError):
            return None

    @property
    def no_channel(self) -> bool:
        """new-api's 503 model_not_found: no channel serves this model (on this endpoint: older versions served
        compact from <model>-openai-compact), a refusal rather than a crash (middleware/distributor.go)."""
        body = self.json
        error = body.get("error") if isinstance(body, dict) else None
        return self.status == 503 and isinstance(error, dict) and error.get("code") == "model_not_found"

    @property
    def request_id(self) -> str | None:
        for name in REQUEST_ID_HEADERS:
            value = self.response_headers.get(name)
            if value:
                return value
        found = _REQUEST_ID_SUFFIX.search(self.body[:65536].decode("utf-8", "replace"))
        return found.group(1) if found else None

    def body_text(self, limit: int = PREVIEW_BYTES) -> str:
        text = self.body_head(limit).decode("utf-8", "replace")
        return text + (f"\n... ({self.body_size - limit} more bytes)" if self.body_size > limit else "")

    def as_dict(self, preview: int = PREVIEW_BYTES) -> dict[str, Any]:
        return {
            "id": self.id, "method": self.method, "url": self.url, "request_headers": self.request_headers,
            "request_body": (self.request_body or b"").decode("utf-8", "replace"),
            "status": self.status, "response_headers": self.response_headers, "request_id": self.request_id,
            "body": self.body_text(preview),
            "body_bytes": self.wire_bytes if self.wire_bytes is not None else self.body_size,
            "events": self.event_count,
            "stop": self.stop.as_dict() if self.stop else None, "fault": self.fault,
            "first_byte_at": self.first_byte_at, "elapsed": round(self.elapsed, 4), "attempts": self.attempts,
            "replayed": self.replayed, "key_echoes": self.key_echoes, "missing": self.missing,
        }


def _get_body(self: Exchange) -> bytes:
    spilled = self.__dict__.get("_spilled")
    if spilled is not None:
        return Path(spilled).read_bytes()
    return self.__dict__.get("_body", b"")


def _set_body(self: Exchange, value: bytes) -> None:
    self.__dict__.pop("_json", None)
    previous = self.__dict__.get("_spilled")
    if previous is not None:
        previous.unlink(missing_ok=True)
    self.__dict__["_body_size"] = len(value)
    if len(value) > SPILL_BYTES:
        self.__dict__["_spilled"], self.__dict__["_body"] = _spill(value), b""
    else:
        self.__dict__["_spilled"], self.__dict__["_body"] = None, value


def _get_events(self: Exchange) -> list[Any]:
    """The events; those of a spilled stream are read again from its body, with their arrival times."""
    global _reparsed
    arrivals = self.__dict__.get("_arrivals")
    if arrivals is None:
        return self.__dict__.get("_events", [])
    spilled = str(self.__dict__.get("_spilled"))
    if _reparsed is not None and _reparsed[0] == spilled:
        return _reparsed[1]
    from .framing import reader_for

    # what stopped the stream, if anything, is in ``stop`` already
    events = read_all(self.body, reader_for(self.__dict__["_framing"])).items
    if len(events) == len(arrivals):
        events = [dataclasses.replace(e, arrival=a) for e, a in zip(events, arrivals, strict=True)]
    _reparsed = (spilled, events)
    return events


def _set_events(self: Exchange, events: list[Any]) -> None:
    self.__dict__["_event_count"] = len(events)
    if events and self.__dict__.get("_spilled") is not None:
        # a big stream: only its arrival times stay in memory, the events are parsed again when judged
        from .sse import SSEEvent

        self.__dict__["_arrivals"] = array("d", (e.arrival for e in events))
        self.__dict__["_framing"] = "sse" if isinstance(events[0], SSEEvent) else "json_array"
        self.__dict__["_events"] = []
    else:
        self.__dict__["_arrivals"] = None
        self.__dict__["_events"] = events


# ``body`` and ``events`` stay dataclass fields (constructors and callers unchanged), stored by these properties
Exchange.body = property(_get_body, _set_body)  # type: ignore[assignment]
Exchange.events = property(_get_events, _set_events)  # type: ignore[assignment]
