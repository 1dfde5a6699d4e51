"""Helpers shared by the check areas: error envelopes and stream verdicts filtered by rule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeGuard

from ..kinds import get_kind, judge_json
from ..violations import Violation

if TYPE_CHECKING:
    from ..exchange import Exchange
    from .registry import CheckContext

def is_count(value: Any) -> TypeGuard[int]:
    """A JSON integer (true and false are not counts, though Python's bool is an int)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> TypeGuard[int | float]:
    """A JSON number, booleans excluded."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


ENVELOPE_KINDS = {"openai": "error.openai", "anthropic": "error.anthropic", "google": "error.google"}


def envelope_problems(exchange: Exchange, accepted: tuple[str, ...]) -> list[Violation]:
    """Why an error answer is not in one of the ``accepted`` envelopes; empty when it is."""
    if exchange.content_type != "application/json":
        got = exchange.content_type or "no Content-Type"
        hint = " (an HTML page)" if exchange.body.lstrip()[:1] == b"<" else ""
        return [Violation("errors.content-type", f"error answered with {got}{hint}, expected application/json")]
    best: list[Violation] | None = None
    for name in accepted:
        verdict = judge_json(get_kind(ENVELOPE_KINDS[name]), exchange.body)
        if verdict.ok:
            return []
        if best is None or len(verdict.violations) < len(best):
            best = verdict.violations
    return [Violation("errors.envelope", f"the error body is in none of the accepted envelopes "
                      f"({', '.join(accepted)}): {exchange.body_text(160)!r}"), *(best or [])]


def fail_on_rules(ctx: CheckContext, prefixes: tuple[str, ...], what: str, whole_stream: bool = False) -> None:
    """Fail with the main step's stream/body violations whose rule starts with one of ``prefixes``.

    A stream check passes only on evidence: with no event seen it is skipped, and so is a ``whole_stream``
    check (the order and end of the stream, the rules across all its events) when framing cut the stream,
    since its end was never judged."""
    ctx.require_success()
    verdict = ctx.verdict
    found = [v for v in verdict.violations if v.rule.startswith(prefixes)]
    if found:
        first = found[0]
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        ctx.fail(f"{what}: {first.pointer or '/'}: {first.message} [{first.rule}; {first.spec}]{more}", found)
    if "framing." in prefixes or ctx.step.expect.kind is None:
        return
    area = ctx.check.id.split(".stream.")[0]
    if verdict.stopped is not None and whole_stream:
        ctx.skip(f"the stream was cut ({verdict.stopped}) after {verdict.events} event(s), so its whole was never "
                 f"seen; see {area}.stream.framing")
    if verdict.events == 0 and get_kind(ctx.step.expect.kind).framing != "json":
        ctx.skip(f"the stream carried no event to judge; see {area}.stream.framing and {area}.stream.event-order")


def register_stream_checks(area: str, kinds: tuple[str, ...], grammar_file: str,
                           rules: dict[str, tuple[str, str, tuple[str, ...]]]) -> None:
    """Register the stream checks of one protocol: framing, event schemas, event order, and one check
    per cross-event rule. ``rules`` maps a check suffix to (title, doc, rule prefixes)."""
    from .registry import check, main_kind

    applies = main_kind(*kinds)
    table: dict[str, tuple[str, str, tuple[str, ...]]] = {
        "framing": ("The stream is well framed and ends cleanly",
                    "Bytes on the wire: valid UTF-8, JSON in every event, the right Content-Type, SSE event "
                    "names matching the data, and no stall, cut or overflow before the end.", ("framing.",)),
        "event-schema": ("Every stream event conforms to its schema",
                         "Each event is checked against the schema of its type.", ("schema.",)),
        "event-order": ("Stream events come in the protocol's order and the stream ends properly",
                        f"The allowed order is a state machine in {grammar_file}.", ("grammar.",)),
        **rules,
    }
    for suffix, (title, doc, prefixes) in table.items():
        whole = suffix not in ("framing", "event-schema")  # event-schema judges each event seen on its own

        def judge(ctx: CheckContext, prefixes: tuple[str, ...] = prefixes, title: str = title,
                  whole: bool = whole) -> None:
            fail_on_rules(ctx, prefixes, title.lower(), whole)
        judge.__doc__ = doc
        judge.__name__ = f"{area}_stream_{suffix}".replace("-", "_")
        check(f"{area}.stream.{suffix}", title, spec=grammar_file, applies=applies)(judge)


def stream_objects(items: list[Any]) -> list[tuple[int, dict]]:
    """The stream events (SSE events or JSON-array elements) whose data parses as a JSON object, each with
    its position among all events; the others are the framing check's business and are left out."""
    import json

    out = []
    for position, item in enumerate(items):
        try:
            data = json.loads(item.data)
        except (ValueError, RecursionError, TypeError):
            continue
        if isinstance(data, dict):
            out.append((position, data))
    return out


def stream_events(ctx: CheckContext, step: str | None = None) -> list[dict]:
    """The SSE events of a step's successful answer, parsed as JSON objects (``stream_objects``)."""
    from ..judging import stream_items

    exchange = ctx.require_success(step)
    items, _ = stream_items(exchange, "sse")
    return [data for _, data in stream_objects(items)]


def validate_against(ctx: CheckContext, value: object, schema: dict | None, where: str, what: str) -> None:
    """Fail unless ``value`` validates against a JSON Schema the request supplied (a tool's parameters,
    a response_format schema)."""
    import json

    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(schema or {}).iter_errors(value), key=str)
    if errors:
        ctx.fail(f"{where}: {json.dumps(value)[:120]} does not match {what}: {errors[0].message}")


def parse_arguments(ctx: CheckContext, arguments: object, where: str) -> object:
    """Tool-call arguments as OpenAI sends them: a JSON string, parsed."""
    import json

    if not isinstance(arguments, str):
        ctx.fail(f"{where}: arguments must be a JSON string, got {type(arguments).__name__}")
    try:
        return json.loads(arguments)
    except (ValueError, RecursionError):
        ctx.fail(f"{where}: arguments are not JSON: {arguments[:120]!r}")
