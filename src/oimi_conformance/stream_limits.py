"""Reading a stream under limits, and the one way a stream read can end early.

Every problem while reading a stream -- the gateway went quiet, talked for too long,
sent too much, sent bytes that are not UTF-8 or not the promised framing, or hung up
mid-event -- becomes a :class:`StreamStop` recorded in the :class:`StreamTranscript`.
The driver never raises for the stream itself, so a judge can still look at every item
that arrived before the stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .violations import Violation

#: Stops caused by the network or by the harness's own limits: no complete answer was read.
TRANSPORT_REASONS = frozenset(
    {"idle-timeout", "total-timeout", "byte-limit", "truncated", "connection-error"}
)
#: Stops caused by bytes that break the stream's encoding or framing rules.
CONTRACT_REASONS = frozenset({"invalid-utf8", "invalid-json", "framing"})
REASONS = TRANSPORT_REASONS | CONTRACT_REASONS


class StreamStop(Exception):
    """Why a stream read ended before its natural end.

    reason: one of :data:`REASONS`.
    detail: one line for humans.
    offset: byte offset in the stream where the problem was seen (None when unknown).
    items:  events/elements that completed in the same ``feed()`` call before the problem;
            the driver keeps them so nothing that was validly received is lost.
    """

    def __init__(self, reason: str, detail: str = "", offset: int | None = None,
                 items: list[Any] | None = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown stream stop reason {reason!r}")
        super().__init__(reason, detail, offset)
        self.reason = reason
        self.detail = detail
        self.offset = offset
        self.items: list[Any] = list(items or [])

    @property
    def is_transport(self) -> bool:
        """True when the network or a limit is to blame rather than the bytes' contents."""
        return self.reason in TRANSPORT_REASONS

    def as_violation(self, index: int | None = None) -> Violation:
        """The stop as a ``stream.<reason>`` violation; ``index`` is the event it hit."""
        pointer = f"/events/{index}" if index is not None else ""
        return Violation(rule=f"stream.{self.reason}", message=str(self), pointer=pointer)

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "detail": self.detail, "offset": self.offset}

    def __str__(self) -> str:
        where = f" at byte {self.offset}" if self.offset is not None else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.reason}{where}{detail}"

    def __repr__(self) -> str:
        return f"StreamStop({self.reason!r}, {self.detail!r}, offset={self.offset!r})"


@dataclass
class StreamLimits:
    """How long and how much the harness is willing to read; seconds and bytes."""

    idle_timeout: float = 30.0
    total_timeout: float = 120.0
    max_bytes: int = 16 * 1024 * 1024


class StreamReader(Protocol):
    """What the driver needs from SSEReader / JSONArrayReader (read only: plain attributes or properties)."""

    @property
    def bytes_fed(self) -> int: ...

    @property
    def truncated(self) -> bool: ...

    @property
    def pending_bytes(self) -> int: ...

    def feed(self, chunk: bytes, arrival: float | None = None) -> list[Any]: ...

    def close(self) -> list[Any]: ...


@dataclass
class StreamTranscript:
    """Everything read from one stream.

    items:          events or array elements in arrival order.
    stop:           why reading ended early; None when the stream ended cleanly.
    bytes_read:     bytes received (may exceed ``max_bytes`` by the part of the last chunk not fed).
    first_byte_at:  seconds from the start of reading to the first non-empty chunk.
    chunk_arrivals: (seconds from start, chunk length) for every non-empty chunk.
    """

    items: list[Any] = field(default_factory=list)
    stop: StreamStop | None = None
    bytes_read: int = 0
    first_byte_at: float | None = None
    chunk_arrivals: list[tuple[float, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.stop is None


class _SourceError(Exception):
    """Wraps an exception raised by the chunk iterator, so it cannot pass for our own timeout."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


async def _pull(iterator: AsyncIterator[bytes]) -> bytes:
    try:
        return await iterator.__anext__()
    except (StopAsyncIteration, asyncio.CancelledError):
        raise
    except Exception as exc:
        raise _SourceError(exc) from exc


class _Collector:
    """Feeds a reader and turns every way it can end into a transcript; shared by both drivers."""

    def __init__(self, reader: StreamReader, limits: StreamLimits | None) -> None:
        self.reader = reader
        self.max_bytes = limits.max_bytes if limits is not None else None
        self.transcript = StreamTranscript()

    def feed(self, chunk: bytes, arrival: float) -> bool:
        """Feed one chunk; False once the read must stop."""
        out = self.transcript
        start = out.bytes_read
        out.bytes_read += len(chunk)
        over = self.max_bytes is not None and out.bytes_read > self.max_bytes
        if over:
            # Still feed what fits, so events wholly inside the limit are judged.
            chunk = chunk[: max(0, self.max_bytes - start)]  # type: ignore[operator]
        try:
            out.items.extend(self.reader.feed(chunk, arrival))
        except StreamStop as stop:
            self._stop(stop)
            return False
        if over:
            self._stop(StreamStop("byte-limit", f"stream exceeded {self.max_bytes} bytes",
                                  offset=self.max_bytes))
            return False
        return True

    def finish(self) -> None:
        """End of input: let the reader flush and report a cut-off final event."""
        try:
            self.transcript.items.extend(self.reader.close())
        except StreamStop as stop:
            self._stop(stop)
            return
        if getattr(self.reader, "truncated", False):
            pending = self.reader.pending_bytes
            self._stop(StreamStop(
                "truncated", f"connection closed mid-event ({pending} bytes of an unfinished event)",
                offset=self.reader.bytes_fed - pending))

    def _stop(self, stop: StreamStop) -> None:
        self.transcript.items.extend(stop.items)
        stop.items = []  # the transcript owns them now
        self.transcript.stop = stop


async def _aclose(*objects: object) -> None:
    """Close the chunk source so a stopped read does not leak its connection."""
    seen: set[int] = set()
    for obj in objects:
        aclose = getattr(obj, "aclose", None)
        if aclose is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        with contextlib.suppress(Exception):  # best effort: the stop is already recorded
            await aclose()


async def read_stream(chunks: AsyncIterable[bytes], reader: StreamReader,
                      limits: StreamLimits | None = None,
                      clock: Callable[[], float] = time.monotonic) -> StreamTranscript:
    """Read ``chunks`` into ``reader`` under ``limits``; never raises for stream problems.

    Each chunk is awaited for at most the idle timeout and never past the total budget.
    Arrival times (of chunks and items) are seconds since the call started, by ``clock``.
    """
    limits = limits or StreamLimits()
    collector = _Collector(reader, limits)
    out = collector.transcript
    iterator = chunks.__aiter__()
    start = clock()
    finished = False
    try:
        while True:
            remaining = limits.total_timeout - (clock() - start)
            if remaining <= 0:
                out.stop = StreamStop("total-timeout", f"stream not finished after {limits.total_timeout:g}s",
                                      offset=out.bytes_read)
                break
            wait = min(limits.idle_timeout, remaining)
            try:
                chunk = await asyncio.wait_for(_pull(iterator), wait)
            except StopAsyncIteration:
                finished = True
                break
            except asyncio.TimeoutError:
                out.stop = _timeout_stop(limits, wait < limits.idle_timeout, out.bytes_read)
                break
            except _SourceError as exc:
                err = exc.error
                out.stop = StreamStop("connection-error", f"{type(err).__name__}: {err}",
                                      offset=out.bytes_read)
                break
            if not chunk:
                continue
            arrival = clock() - start
            if out.first_byte_at is None:
                out.first_byte_at = arrival
            out.chunk_arrivals.append((arrival, len(chunk)))
            if not collector.feed(bytes(chunk), arrival):
                break
        if finished:
            collector.finish()
    finally:
        if not finished:
            await _aclose(iterator, chunks)
    return out


def _timeout_stop(limits: StreamLimits, total: bool, offset: int) -> StreamStop:
    if total:
        return StreamStop("total-timeout", f"stream not finished after {limits.total_timeout:g}s",
                          offset=offset)
    return StreamStop("idle-timeout", f"no bytes for {limits.idle_timeout:g}s", offset=offset)


def read_all(body: bytes, reader: StreamReader, limits: StreamLimits | None = None) -> StreamTranscript:
    """Judge a captured body in one go: no timing, items arrive at 0.0; ``max_bytes`` applies if given."""
    collector = _Collector(reader, limits)
    if collector.feed(body, 0.0):
        collector.finish()
    return collector.transcript
