"""Incremental reader for a JSON array streamed element by element.

Gemini's ``streamGenerateContent`` without ``alt=sse`` sends ``[{...}\\r\\n,{...}\\r\\n]`` over
time. Each object is handed out as soon as its closing brace arrives. The scanner keeps
its string/escape/depth state between chunks and jumps from one structural character to
the next with a regex, so no text is scanned twice and no per-character Python loop runs
over string contents.
"""

from __future__ import annotations

import codecs
import re
import time
from dataclasses import dataclass
from typing import Any

from .json_text import JSONText
from .stream_limits import StreamStop

_WS = re.compile(r"[ \t\n\r]*")
_STRUCTURAL = re.compile(r'[{}\[\]"]')
# The rest of a string up to (not including) its closing quote or a chunk-final backslash.
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)

# Where the reader is between elements.
_BEFORE = "before '['"
_FIRST = "after '['"
_NEXT = "after ','"
_AFTER = "after an element"
_IN = "inside an element"
_DONE = "after ']'"


@dataclass(frozen=True, slots=True)
class ArrayElement:
    """One array element: parsed ``value``, its exact ``raw`` text, 0-based ``index``,
    byte ``offset`` of its opening brace and the ``arrival`` of the chunk that completed it."""

    value: Any
    raw: str
    index: int
    offset: int
    arrival: float


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_parse = JSONText(parse_constant=_reject_constant).loads


class JSONArrayReader:
    """Feed bytes as they arrive; get back the array elements they complete.

    Elements must be JSON objects. Whitespace (space, tab, CR, LF) may appear anywhere
    between tokens of the framing. Problems raise StreamStop: ``invalid-utf8``,
    ``framing`` (no '[' first, junk between elements, anything but whitespace after ']'),
    ``invalid-json`` (an element that does not parse) and, from ``close()``, ``truncated``.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._state = _BEFORE
        self._stop: StreamStop | None = None
        self._closed = False
        # Scanner state inside an element; survives chunk boundaries.
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._parts: list[str] = []
        self._start = 0  # byte offset of the current element's '{'
        # Byte offset of a character position in the current text, computed once per segment.
        self._mark = 0
        self._mark_offset = 0
        self._count = 0
        self.bytes_fed = 0
        self.truncated = False
        self.pending_bytes = 0

    def feed(self, chunk: bytes, arrival: float | None = None) -> list[ArrayElement]:
        """Consume ``chunk``; return the elements it completes. Raises StreamStop on a problem."""
        if self._stop is not None:
            raise self._stop
        if self._closed:
            raise RuntimeError("JSONArrayReader.feed() after close()")
        if arrival is None:
            arrival = time.monotonic()
        held = self._decoder.getstate()[0]
        base = self.bytes_fed - len(held)  # byte offset of the first character decoded now
        self.bytes_fed += len(chunk)
        out: list[ArrayElement] = []
        try:
            try:
                text = self._decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # Judge the valid prefix first: a framing error there comes first in the stream.
                data = held + chunk
                self._scan(data[: exc.start].decode("utf-8"), base, arrival, out)
                bad = data[exc.start:exc.end].hex(" ")
                raise StreamStop("invalid-utf8", f"invalid UTF-8 ({exc.reason}): {bad}",
                                 offset=base + exc.start) from None
            if text:
                self._scan(text, base, arrival, out)
        except StreamStop as stop:
            stop.items = out
            self._stop = stop
            raise
        return out

    def close(self) -> list[ArrayElement]:
        """End of input; raises StreamStop('truncated') unless the closing ']' was seen."""
        if self._closed:
            return []
        self._closed = True
        if self._stop is not None:
            return []
        held = self._decoder.getstate()[0]
        if self._state == _DONE:
            if held:
                self._stop = StreamStop("framing", "expected only whitespace after ']', got a partial "
                                        "UTF-8 character", offset=self.bytes_fed - len(held))
                raise self._stop
            return []
        self.truncated = True
        if self._state == _IN:
            self.pending_bytes = self.bytes_fed - self._start
            offset = self._start
        else:
            offset = self.bytes_fed - len(held)
        detail = f"input ended {self._state} (no closing ']')"
        self._stop = StreamStop("truncated", detail, offset=offset)
        raise self._stop

    # -- scanning -------------------------------------------------------------------------

    def _scan(self, text: str, base: int, arrival: float, out: list[ArrayElement]) -> None:
        self._mark, self._mark_offset = 0, base
        i, n = 0, len(text)
        while i < n:
            if self._state == _IN:
                i = self._scan_element(text, i, arrival, out)
                continue
            i = _WS.match(text, i).end()  # type: ignore[union-attr]
            if i < n:
                i = self._framing(text, i)

    def _framing(self, text: str, i: int) -> int:
        """Handle the one framing character at ``text[i]``; return the next position."""
        char, state = text[i], self._state
        if char == "{" and state in (_FIRST, _NEXT):
            self._state = _IN
            self._start = self._offset(text, i)
            self._parts = []
            self._depth = 0
            return i
        if (state == _BEFORE and char == "[") or (state == _AFTER and char == ","):
            self._state = _NEXT if char == "," else _FIRST
            return i + 1
        if char == "]" and state in (_FIRST, _AFTER):
            self._state = _DONE
            return i + 1
        expected = {_BEFORE: "'['", _FIRST: "'{' or ']'", _NEXT: "'{'", _AFTER: "',' or ']'",
                    _DONE: "only whitespace"}[state]
        raise StreamStop("framing", f"expected {expected} {state}, got {text[i:i + 12]!r}",
                         offset=self._offset(text, i))

    def _scan_element(self, text: str, i: int, arrival: float, out: list[ArrayElement]) -> int:
        """Advance through an element from ``i``; return the position after it, or len(text)."""
        seg_start, n = i, len(text)
        while True:
            if self._in_string:
                if self._escape:  # the escaped character is the first of this chunk
                    self._escape = False
                    i += 1
                i = _STRING_REST.match(text, i).end()  # type: ignore[union-attr]
                if i >= n:
                    break
                if text[i] == "\\":  # a backslash ends the chunk: its pair comes next time
                    self._escape = True
                    break
                self._in_string = False
                i += 1
                continue
            m = _STRUCTURAL.search(text, i)
            if m is None:
                break
            i = m.end()
            char = m.group()
            if char == '"':
                self._in_string = True
            elif char in "{[":
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == 0:
                    self._parts.append(text[seg_start:i])
                    self._emit(arrival, out)
                    return i
        self._parts.append(text[seg_start:])
        return n

    def _emit(self, arrival: float, out: list[ArrayElement]) -> None:
        raw = "".join(self._parts)
        self._parts = []
        self._state = _AFTER
        try:
            value = _parse(raw)
        except (ValueError, RecursionError) as exc:
            pos = getattr(exc, "pos", None)
            offset = self._start + (len(raw[:pos].encode("utf-8")) if pos is not None else 0)
            msg = getattr(exc, "msg", str(exc))
            raise StreamStop("invalid-json", f"element {self._count}: {msg}", offset=offset) from None
        out.append(ArrayElement(value, raw, self._count, self._start, arrival))
        self._count += 1

    def _offset(self, text: str, i: int) -> int:
        """Byte offset of ``text[i]``; positions are asked for in increasing order."""
        seg = text[self._mark:i]
        self._mark_offset += len(seg) if seg.isascii() else len(seg.encode("utf-8"))
        self._mark = i
        return self._mark_offset
