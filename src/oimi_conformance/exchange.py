"""One request and what came back, as the checks see it and as reports store it (redacted)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .stream_limits import StreamStop

PREVIEW_BYTES = 4096  # what a report shows of a body; the cassette keeps it whole
# The id support asks for: new-api's X-Oneapi-Request-Id (middleware/request-id.go), OpenAI's x-request-id,
# Anthropic's request-id; else the "(request id: ...)" suffix new-api puts on its error messages.
REQUEST_ID_HEADERS = ("x-oneapi-request-id", "x-request-id", "request-id")
_REQUEST_ID_SUFFIX = re.compile(r"\(request id: ([^)\s]+)\)")


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

    @property
    def content_type(self) -> str:
        return self.response_headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def is_event_stream(self) -> bool:
        return self.content_type == "text/event-stream"

    @cached_property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None

    @cached_property
    def request_json(self) -> Any:
        if self.request_body is None:
            return None
        try:
            return json.loads(self.request_body)
        except (ValueError, UnicodeDecodeError):
            return None

    @property
    def request_id(self) -> str | None:
        for name in REQUEST_ID_HEADERS:
            value = self.response_headers.get(name)
            if value:
                return value
        found = _REQUEST_ID_SUFFIX.search(self.body[:65536].decode("utf-8", "replace"))
        return found.group(1) if found else None

    def body_text(self, limit: int = PREVIEW_BYTES) -> str:
        text = self.body[:limit].decode("utf-8", "replace")
        return text + (f"\n... ({len(self.body) - limit} more bytes)" if len(self.body) > limit else "")

    def as_dict(self, preview: int = PREVIEW_BYTES) -> dict[str, Any]:
        return {
            "id": self.id, "method": self.method, "url": self.url, "request_headers": self.request_headers,
            "request_body": (self.request_body or b"").decode("utf-8", "replace"),
            "status": self.status, "response_headers": self.response_headers, "request_id": self.request_id,
            "body": self.body_text(preview), "body_bytes": len(self.body), "events": len(self.events),
            "stop": self.stop.as_dict() if self.stop else None, "fault": self.fault,
            "first_byte_at": self.first_byte_at, "elapsed": round(self.elapsed, 4), "attempts": self.attempts,
            "replayed": self.replayed, "key_echoes": self.key_echoes, "missing": self.missing,
        }
