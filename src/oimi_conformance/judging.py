"""Judging one exchange against the kind its step expects: the bridge from a live (or replayed)
exchange to the validators of ``kinds`` and the grammars."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .kinds import Verdict, get_kind, judge_items, judge_json, reader_for
from .stream_limits import read_all
from .violations import Violation

if TYPE_CHECKING:
    from .cases import Step
    from .exchange import Exchange


def stream_items(exchange: Exchange, framing: str) -> tuple[list[Any], Any]:
    """The exchange's events with arrival times, re-read from its bytes when it was replayed."""
    if exchange.events:
        return exchange.events, exchange.stop
    transcript = read_all(exchange.body, reader_for(framing))
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
    request = exchange.request_json if isinstance(exchange.request_json, dict) else None
    verdict = judge_items(kind, items, stop, request)
    verdict.violations[:0] = found
    return verdict
