"""Judging one exchange against the kind its step expects: the bridge from a live (or replayed)
exchange to the validators of ``kinds`` and the grammars."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .framing import FRAMINGS, reader_for
from .kinds import Verdict, get_kind, judge_items, judge_json
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
    table = FRAMINGS[framing]
    if table.self_describing and exchange.content_type not in table.content_types:
        found.append(Violation("framing.content-type", f"a stream was requested; expected Content-Type "
                               f"{table.content_types[0]}, got {exchange.content_type or 'none'}"))
    if table.as_event_stream is not None and exchange.is_event_stream:
        # a stream of another framing answered as SSE: judge what was sent, and say so
        substitute = table.as_event_stream
        framing, kind = substitute.framing, get_kind(substitute.kind)
        found.append(Violation(substitute.rule, substitute.message))
    items, stop = stream_items(exchange, framing)
    request = exchange.request_json if isinstance(exchange.request_json, dict) else None
    verdict = judge_items(kind, items, stop, request)
    verdict.violations[:0] = found
    return verdict
