"""Small helpers for the sandbox tests: auth headers, a minimal SSE splitter, and timed stream reads.

The SSE splitter here is deliberately tiny and independent of ``oimi_conformance.sse``: these tests
check the sandbox, not the harness's reader.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

VALID = "sk-sandbox-valid"


def bearer(key: str = VALID) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat_body(text: str = "hello sandbox world", model: str = "sandbox-omni", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


@dataclass
class SSE:
    event: str | None
    data: str

    @property
    def json(self) -> Any:
        return json.loads(self.data)


def parse_sse(text: str) -> tuple[list[SSE], list[str]]:
    """Events and comment lines of an SSE body (CRLF or LF)."""
    events, comments = [], []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith(":"):
                comments.append(line[1:].strip())
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            events.append(SSE(event, "\n".join(data)))
    return events, comments


@dataclass
class Timed:
    status: int
    headers: httpx.Headers
    chunks: list[bytes] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def timed_post(client: httpx.Client, path: str, body: Any, **kwargs: Any) -> Timed:
    """POST and record when each raw chunk arrived (seconds since the request was sent)."""
    start = time.monotonic()
    with client.stream("POST", path, json=body, **kwargs) as response:
        out = Timed(response.status_code, response.headers)
        for chunk in response.iter_raw():
            out.chunks.append(chunk)
            out.times.append(time.monotonic() - start)
    return out
