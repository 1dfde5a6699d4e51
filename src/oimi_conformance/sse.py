"""Incremental Server-Sent Events reader, after the WHATWG HTML "event stream" parsing rules.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

Bytes may be split anywhere: inside a multi-byte UTF-8 character, between CR and LF,
inside a field name. Lines are split with str methods on whole chunks (no per-byte loop),
and the unterminated last line is kept for the next ``feed()``.

Where the harness is stricter than a browser: invalid UTF-8 is a stop (a browser would
substitute U+FFFD), and input that ends mid-event is flagged (``truncated``) instead of
being silently dropped.
"""

from __future__ import annotations

import codecs
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from .stream_limits import StreamStop

_EOL = re.compile(r"(\r\n|\r|\n)")
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True, init=False)
class SSEEvent:
    """One dispatched event.

    data:    the data lines joined with "\\n".
    event:   the ``event`` field of this event's block, None when absent ("" when sent empty).
    id:      the last event ID in force at dispatch (per spec it carries over to later events
             until another ``id`` field changes it); None when no ``id`` field was seen yet.
    retry:   the ``retry`` value given in this event's block, None when absent or not digits.
    index:   0-based dispatch order.
    offset:  byte offset of the first line of the event's block.
    arrival: timestamp passed to the ``feed()`` that completed the event.
    """

    data: str
    event: str | None
    id: str | None
    retry: int | None
    index: int
    offset: int
    arrival: float

    def __init__(self, data: str, event: str | None, id: str | None, retry: int | None,
                 index: int, offset: int, arrival: float) -> None:
        # Frozen, so each field is set once, here, through its slot's own setter: what the __init__
        # dataclass writes does (object.__setattr__ per field), at about half the cost. A stream makes
        # one SSEEvent per event, and this was a third of reading one.
        set_data, set_event, set_id, set_retry, set_index, set_offset, set_arrival = _FIELD_SETTERS
        set_data(self, data)
        set_event(self, event)
        set_id(self, id)
        set_retry(self, retry)
        set_index(self, index)
        set_offset(self, offset)
        set_arrival(self, arrival)

    @property
    def is_done(self) -> bool:
        return self.data == "[DONE]"


_FIELD_SETTERS: tuple[Callable[[SSEEvent, Any], None], ...] = tuple(
    vars(SSEEvent)[f.name].__set__ for f in fields(SSEEvent))


class SSEReader:
    """Feed bytes as they arrive; get back the events they complete.

    After ``close()``: ``truncated`` is True when input ended inside an event (fields or an
    unterminated line after the last blank line) and ``pending_bytes`` says how many bytes
    of it were discarded. ``comments`` lists (offset, text) of every comment line, text
    without the colon and one leading space. ``dataless`` lists the offsets of blocks that
    had fields but no ``data`` line, which the spec does not dispatch. ``retry`` is the
    last valid reconnection time seen.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._started = False  # BOM check done
        self._skip_lf = False  # last chunk ended in CR: a leading LF belongs to it
        self._tail: list[str] = []  # pieces of the unterminated last line
        self._pos = 0  # byte offset of the start of the tail
        self._stop: StreamStop | None = None
        self._closed = False
        # The event being built (the "buffers" of the spec).
        self._block_start = 0
        self._data: list[str] | None = None
        self._event: str | None = None
        self._block_retry: int | None = None
        self._has_fields = False
        self._last_id: str | None = None
        self._count = 0
        self.bytes_fed = 0
        self.retry: int | None = None
        self.comments: list[tuple[int, str]] = []
        self.dataless: list[int] = []
        self.truncated = False
        self.pending_bytes = 0

    def feed(self, chunk: bytes, arrival: float | None = None) -> list[SSEEvent]:
        """Consume ``chunk``; return the events it completes. Raises StreamStop on invalid UTF-8."""
        if self._stop is not None:
            raise self._stop
        if self._closed:
            raise RuntimeError("SSEReader.feed() after close()")
        if arrival is None:
            arrival = time.monotonic()
        text, error = self._decode(chunk)
        self.bytes_fed += len(chunk)
        events = self._text(text, arrival) if text else []
        if error is not None:
            error.items = events
            self._stop = error
            raise error
        return events

    def close(self) -> list[SSEEvent]:
        """End of input. Never dispatches a partial event; sets ``truncated`` if there was one."""
        if self._closed:
            return []
        self._closed = True
        if self._stop is not None:
            return []
        # Bytes of an unfinished character count as an unterminated line, not as bad UTF-8.
        unfinished_char = bool(self._decoder.getstate()[0])
        if self._has_fields or unfinished_char or any(self._tail):
            self.truncated = True
            self.pending_bytes = self.bytes_fed - self._block_start
        self._tail = []
        return []

    def _decode(self, chunk: bytes) -> tuple[str, StreamStop | None]:
        held = self._decoder.getstate()[0]
        try:
            return self._decoder.decode(chunk), None
        except UnicodeDecodeError as exc:
            # exc.start indexes held + chunk; everything before it is valid and still delivered.
            data = held + chunk
            offset = self.bytes_fed - len(held) + exc.start
            bad = data[exc.start:exc.end].hex(" ")
            stop = StreamStop("invalid-utf8", f"invalid UTF-8 ({exc.reason}): {bad}", offset=offset)
            return data[: exc.start].decode("utf-8"), stop

    def _text(self, text: str, arrival: float) -> list[SSEEvent]:
        if not self._started:
            self._started = True
            if text.startswith(_BOM):
                text = text[1:]
                self._pos = self._block_start = 3
        if self._skip_lf:
            self._skip_lf = False
            if text.startswith("\n"):
                text = text[1:]
                self._pos += 1
                if self._block_start == self._pos - 1:
                    self._block_start = self._pos
        if "\n" not in text and "\r" not in text:
            self._tail.append(text)  # no line ends yet: do not re-join the tail on every byte
            return []
        if self._tail:
            self._tail.append(text)
            text = "".join(self._tail)
        lines, eol_lengths, tail = _split_lines(text)
        self._tail = [tail] if tail else []
        self._skip_lf = text.endswith("\r")
        return self._lines(lines, eol_lengths, arrival)

    def _lines(self, lines: list[str], eol_lengths: list[int], arrival: float) -> list[SSEEvent]:
        # One tight loop per chunk: the event being built lives in locals while the lines are read
        # (written back at the end), and a "data:" line, nearly every line of a real stream, is
        # handled inline. Byte sizes come from str lengths when the line is ASCII (nearly always).
        events: list[SSEEvent] = []
        pos = self._pos
        block_start = self._block_start
        data = self._data
        event_name = self._event
        block_retry = self._block_retry
        has_fields = self._has_fields
        last_id = self._last_id
        count = self._count
        for line, eol in zip(lines, eol_lengths, strict=True):
            size = (len(line) if line.isascii() else len(line.encode("utf-8"))) + eol
            if not line:  # a blank line ends the block: dispatch it if it had data
                if data is not None:
                    events.append(SSEEvent("\n".join(data), event_name, last_id, block_retry, count,
                                           block_start, arrival))
                    count += 1
                elif has_fields:
                    self.dataless.append(block_start)
                data = event_name = block_retry = None
                has_fields = False
                block_start = pos + size
            elif line.startswith("data:"):
                value = line[6:] if line.startswith(" ", 5) else line[5:]
                has_fields = True
                if data is None:
                    data = [value]
                else:
                    data.append(value)
            elif line[0] == ":":
                text = line[1:]
                self.comments.append((pos, text[1:] if text.startswith(" ") else text))
            else:
                has_fields = True
                name, colon, value = line.partition(":")
                if colon and value.startswith(" "):
                    value = value[1:]
                if name == "data":  # "data" with no colon: an empty data line
                    if data is None:
                        data = [value]
                    else:
                        data.append(value)
                elif name == "event":
                    event_name = value
                elif name == "id":
                    if "\0" not in value:  # spec: an id containing NUL is ignored
                        last_id = value
                elif name == "retry" and value.isascii() and value.isdigit():
                    block_retry = self.retry = int(value)
            pos += size
        self._pos = pos
        self._block_start = block_start
        self._data = data
        self._event = event_name
        self._block_retry = block_retry
        self._has_fields = has_fields
        self._last_id = last_id
        self._count = count
        return events


def _split_lines(text: str) -> tuple[list[str], list[int], str]:
    """Split at CRLF, LF or CR; return (lines, terminator lengths, unterminated tail)."""
    n_cr = text.count("\r")
    if not n_cr:
        lines = text.split("\n")
        tail = lines.pop()
        return lines, [1] * len(lines), tail
    if n_cr == text.count("\r\n") == text.count("\n"):
        lines = text.split("\r\n")
        tail = lines.pop()
        return lines, [2] * len(lines), tail
    parts = _EOL.split(text)
    lines = parts[0::2]
    tail = lines.pop()
    return lines, [len(eol) for eol in parts[1::2]], tail
