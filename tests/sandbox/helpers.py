"""Small helpers for the sandbox tests: auth headers, a minimal SSE splitter, timed and lock-step stream reads.

The SSE splitter here is deliberately tiny and independent of ``oimi_conformance.sse``: these tests
check the sandbox, not the harness's reader.
"""

from __future__ import annotations

import asyncio
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


class Lockstep:
    """Proves real incremental delivery without a clock: while installed (the ``lockstep`` fixture), the
    sandbox holds each stream write until the client has read every byte written before it. A sandbox
    that streams event by event then reaches the client in at least one read per event, however loaded
    the machine is; one that buffers the body reaches it in one read."""

    WAIT_S = 10.0  # a hang guard only (the client's own timeout); no assertion depends on it

    def __init__(self) -> None:
        self.received = 0

    async def until_read(self, sent: int) -> None:
        """In the sandbox's loop: wait, without blocking the loop, until the client has read ``sent`` bytes."""
        deadline = time.monotonic() + self.WAIT_S
        while self.received < sent and time.monotonic() < deadline:
            await asyncio.sleep(0.001)

    def post(self, client: httpx.Client, path: str, body: Any, **kwargs: Any) -> Timed:
        """Like ``timed_post``, counting what was read so the sandbox can release the next write."""
        self.received = 0
        with client.stream("POST", path, json=body, **kwargs) as response:
            out = Timed(response.status_code, response.headers)
            for chunk in response.iter_raw():
                out.chunks.append(chunk)
                self.received += len(chunk)
        return out
