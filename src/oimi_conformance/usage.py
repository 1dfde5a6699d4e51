"""Tokens a gateway says it spent, read from its answers' usage objects: the one counter of runs,
capability matrices and fuzzing (``meta.tokens`` of results.json)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .exchange import Exchange

# each side's count under the names the four families give it
COUNT_NAMES = (("input", ("prompt_tokens", "input_tokens", "promptTokenCount")),
               ("output", ("completion_tokens", "output_tokens", "candidatesTokenCount")))


def reported(payloads: Iterable[Any]) -> dict[str, int]:
    """The counts one answer reports: a body's usage object, or a stream's last report of each count (the
    usage chunk of a chat stream, ``message_start`` and ``message_delta``, ``response.completed``, the last
    ``usageMetadata``: streamed counts are cumulative). Only the sides it reports."""
    counts: dict[str, int] = {}
    for payload in payloads:
        usage = _usage_of(payload)
        for side, names in COUNT_NAMES:
            value = _int(usage, names)
            if value is not None:
                counts[side] = value
    return counts


def tokens_spent(exchanges: Iterable[Exchange]) -> dict[str, int]:
    """The counts summed over every distinct exchange (by id) that reports usage."""
    total = {"input": 0, "output": 0}
    seen: set[str] = set()
    for exchange in exchanges:
        if exchange.id in seen:
            continue
        seen.add(exchange.id)
        payloads = [_event_json(e) for e in exchange.events] if exchange.events else [exchange.json]
        for side, value in reported(payloads).items():
            total[side] += value
    return total


def add_body(total: dict[str, int], body: bytes) -> None:
    """Add the counts a JSON body reports to ``total`` (a body that is not JSON reports none)."""
    try:
        payload = json.loads(body or b"")
    except (ValueError, RecursionError, UnicodeDecodeError):
        return
    for side, value in reported([payload]).items():
        total[side] = total.get(side, 0) + value


def _event_json(event: Any) -> Any:
    if hasattr(event, "value"):  # a JSON-array element, already parsed
        return event.value
    try:
        return json.loads(event.data)
    except (ValueError, RecursionError, TypeError, AttributeError):
        return None


def _usage_of(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        return {}
    for holder in (payload, payload.get("response"), payload.get("message")):
        if isinstance(holder, dict):
            usage = holder.get("usage") or holder.get("usageMetadata")
            if isinstance(usage, dict):
                return usage
    return {}


def _int(usage: dict[str, Any], names: tuple[str, ...]) -> int | None:
    for name in names:
        value = usage.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None
