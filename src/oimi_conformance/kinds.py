"""The catalogue of body kinds (``specs/kinds.yaml``) and judging a captured body of one kind."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .exceptions import UsageError
from .framing import names as framing_names
from .framing import reader_for
from .grammar import StreamJudge, load_grammar
from .schemas import default_store
from .specdir import load_data
from .stream_limits import read_all
from .violations import Violation

FRAMINGS = framing_names()  # framing.FRAMINGS is the table; kinds.yaml names one per kind


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    framing: str
    schema: str | None = None
    grammar: str | None = None
    operation: str | None = None


@dataclass
class Verdict:
    """What judging one body found."""

    kind: str
    violations: list[Violation] = field(default_factory=list)
    events: int = 0  # events judged (streams); 1 for a JSON body
    stopped: str | None = None  # a stream cut before its end (the framing stop): its end was never judged

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ok": self.ok, "events": self.events,
                "violations": [v.as_dict() for v in self.violations]}


@cache
def kinds() -> dict[str, Kind]:
    data = load_data("kinds.yaml")
    out = {}
    for name, entry in data.items():
        kind = Kind(name=name, **entry)
        if kind.framing not in FRAMINGS:
            raise UsageError(f"specs/kinds.yaml: {name}: framing must be one of {FRAMINGS}")
        out[name] = kind
    return out


def get_kind(name: str) -> Kind:
    try:
        return kinds()[name]
    except KeyError:
        raise UsageError(f"unknown kind {name!r}; known kinds: {', '.join(sorted(kinds()))}") from None


def judge_json(kind: Kind, body: bytes | str | Any, *, parsed: bool = False) -> Verdict:
    """Judge one JSON document (bytes, text, or an already parsed value when ``parsed``)."""
    if not parsed:
        try:
            value = json.loads(body)
        except RecursionError:
            return Verdict(kind.name, [_too_deep()])
        except (ValueError, UnicodeDecodeError) as exc:
            snippet = body[:120] if isinstance(body, (str, bytes)) else ""
            if isinstance(snippet, bytes):  # shown as text, never as a Python b'...' literal
                snippet = snippet.decode("utf-8", "replace")
            return Verdict(kind.name, [Violation("framing.invalid-json", f"body is not JSON ({exc}): {snippet!r}")])
    else:
        value = body
    assert kind.schema is not None
    try:
        return Verdict(kind.name, default_store().get(kind.schema).violations(value), 1)
    except RecursionError:  # valid JSON, but nested deeper than the validator can walk
        return Verdict(kind.name, [_too_deep()], 1)


def _too_deep() -> Violation:
    return Violation("framing.too-deep", "the body nests deeper than the harness can judge "
                     f"(Python's limit is about {sys.getrecursionlimit()} levels); no real answer nests like this")


def judge_items(kind: Kind, items: list[Any], stop: Any, request: dict[str, Any] | None = None) -> Verdict:
    """Judge a stream's items (SSE events or JSON-array elements, as its framing gives them) and the
    reason reading stopped, if it did, against the kind's grammar."""
    assert kind.grammar is not None
    judge = StreamJudge(load_grammar(kind.grammar), request)
    if kind.framing == "sse":
        judge.feed_events(items)
    else:
        judge.feed_elements(items)
    judge.finish(stop.reason if stop else None, stop.detail if stop else "")
    return Verdict(kind.name, judge.violations, judge.count, stop.reason if stop else None)


def judge_stream(kind: Kind, body: bytes, request: dict[str, Any] | None = None) -> Verdict:
    """Judge a captured stream body: framed by the kind's reader, then judged by its grammar."""
    if kind.framing == "sse" and body.lstrip()[:1] in (b"{", b"["):  # a JSON document, not an event stream
        return Verdict(kind.name, [Violation("framing.not-a-stream", f"the body is a JSON document, not an event "
                                             f"stream (text/event-stream) as {kind.name} is; judge it with the "
                                             "kind of a non-streamed answer")])
    transcript = read_all(body, reader_for(kind.framing))
    return judge_items(kind, transcript.items, transcript.stop, request)


def judge(kind_name: str, body: bytes | str, request: dict[str, Any] | None = None) -> Verdict:
    """Judge a captured body of ``kind_name``: a JSON document, or raw stream bytes."""
    kind = get_kind(kind_name)
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if kind.framing == "json":
        return judge_json(kind, raw)
    return judge_stream(kind, raw, request)
