"""Streaming delivery: the first event comes soon, and events arrive as they are made, not in one
buffered burst at the end. Judged from live arrival times, so skipped on replay."""

from __future__ import annotations

from ..framing import answered_framing, stream_framing
from ..judging import stream_items
from ..profile import Profile
from .registry import CheckContext, check

SPEC = "gateway-facts.md#Streaming; https://html.spec.whatwg.org/multipage/server-sent-events.html"
MIN_SPREAD = 0.005  # seconds between first and last event below which a stream counts as one burst


def _is_stream(case) -> bool:
    return case.steps[0].stream


def _events(ctx: CheckContext) -> list:
    exchange = ctx.require_success()
    framing = answered_framing(stream_framing(ctx.step.operation, exchange.url), exchange.content_type)
    items, _ = stream_items(exchange, framing)
    return items


@check("delivery.first-event", "The first stream event arrives promptly", spec=SPEC, applies=_is_stream,
       needs_timing=True)
def first_event(ctx: CheckContext) -> None:
    """Time to first event, counted from sending the request (headers that come at once followed by a long
    silence do not help), is what a chat UI's user waits for. The limit is the profile's
    ``delivery.first_event_s`` ({first_event_s:g} s by default)."""
    items = _events(ctx)
    if not items:
        ctx.fail("the stream delivered no event at all")
    limit = ctx.profile.first_event_s
    waited = (ctx.exchange.headers_at or 0.0) + items[0].arrival
    if waited > limit:
        ctx.fail(f"the first event came {waited:.1f}s after the request was sent (limit {limit:g}s)")


@check("delivery.incremental", "Stream events arrive incrementally, not in one buffered burst", spec=SPEC,
       applies=_is_stream, needs_timing=True)
def incremental(ctx: CheckContext) -> None:
    """A proxy that buffers the whole answer and sends it at the end defeats streaming. Judged on streams of
    three events or more: they must arrive in two reads or more, spread over {spread:g} ms or more."""
    items = _events(ctx)
    if len(items) < 3:
        ctx.skip(f"only {len(items)} event(s): too few to judge delivery")
    spread = items[-1].arrival - items[0].arrival
    chunks = len({round(i.arrival, 6) for i in items})
    if chunks < 2 or spread < MIN_SPREAD:
        ctx.fail(f"all {len(items)} events arrived within {spread * 1000:.1f} ms in {chunks} read(s): "
                 "the stream was buffered and delivered at once")


# the documented limits are the ones the code uses (docs/checks.md is generated from these docstrings)
first_event.__doc__ = (first_event.__doc__ or "").replace("{first_event_s:g}", f"{Profile.first_event_s:g}")
incremental.__doc__ = (incremental.__doc__ or "").replace("{spread:g}", f"{MIN_SPREAD * 1000:g}")
