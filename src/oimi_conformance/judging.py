"""Judging one exchange against the kind its step expects: the bridge from a live (or replayed)
exchange to the validators of ``kinds`` and the grammars."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .grammar import StreamJudge, load_grammar
from .json_array import JSONArrayReader
from .kinds import Verdict, get_kind, judge_json
from .sse import SSEReader
from .stream_limits import read_all
from .violations import Violation

if TYPE_CHECKING:
    from .cases import Step
    from .exchange import Exchange


def stream_items(exchange: Exchange, framing: str) -> tuple[list[Any], Any]:
    """The exchange's events with arrival times, re-read from its bytes when it was replayed."""
    if exchange.events:
        return exchange.events, exchange.stop
    transcript = read_all(exchange.body, SSEReader() if framing == "sse" else JSONArrayReader())
    return transcript.items, exchange.stop or transcript.stop


def judge_exchange(exchange: Exchange, step: Step) -> Verdict:
    kind_name = step.expect.kind
    if kind_name is None:
        return Verdict("none")
    kind = get_kind(kind_name)
    if kind.framing == "json":
        if exchange.stop is not None:
            return Verdict(kind.name, [Violation(f"framing.{exchange.stop.reason}",
                                                 f"body not read whole: {exchange.stop.detail}")])
        return judge_json(kind, exchange.body)
    framing = kind.framing
    found: list[Violation] = []
    if framing == "sse" and not exchange.is_event_stream:
        found.append(Violation("framing.content-type", f"a stream was requested; expected Content-Type "
                               f"text/event-stream, got {exchange.content_type or 'none'}"))
    if framing == "json_array" and exchange.is_event_stream:
        # a JSON-array stream answered as SSE: judge what was sent, and say so
        framing, kind = "sse", get_kind("gemini.stream.sse")
        # its own rule id: gemini.json-array-framing (a warning) reports this known new-api behaviour once
        found.append(Violation("compat.json-array-as-sse", "streamGenerateContent without alt=sse answered "
                               "text/event-stream instead of Google's JSON-array framing"))
    items, stop = stream_items(exchange, framing)
    assert kind.grammar is not None
    judge = StreamJudge(load_grammar(kind.grammar), exchange.request_json if isinstance(
        exchange.request_json, dict) else None)
    for item in items:
        if framing == "sse":
            judge.feed_raw(item.data, index=item.index, arrival=item.arrival, sse_event=item.event)
        else:
            judge.feed_value(item.value, index=item.index, arrival=item.arrival)
    judge.finish(stop.reason if stop else None, stop.detail if stop else "")
    return Verdict(kind.name, found + judge.violations, len(judge.events))
