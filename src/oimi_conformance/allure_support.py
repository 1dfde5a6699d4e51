"""Allure results of a run, when allure-pytest is listening (``--alluredir``; ``oimi-conformance run`` passes it).

Every check result is one Allure test: epic = protocol family, feature = endpoint, story = check id;
model, auth variant, stream mode, case and check are parameters; the spec reference is a link; the
redacted exchanges (``Exchange.as_dict``) and, for streams, a transcript with each event's arrival time
are attached. Nothing unredacted is handed to Allure: the pytest parameter holding the (check, case run)
pair is replaced by its id, so its ``repr`` (live exchanges, raw stream events) is never written.
"""

from __future__ import annotations

import json
from typing import Any

from .endpoints import family_titles
from .safe_text import no_surrogates

SEVERITY = {"error": "critical", "warning": "normal"}
TRANSCRIPT_EVENTS = 2000  # events listed in one transcript; the rest are counted
TRANSCRIPT_LINE = 4000  # characters of one event's data


def active(config: Any) -> bool:
    """Whether allure-pytest is writing results in this session."""
    return config.pluginmanager.get_plugin("allure_listener") is not None


def label(check: Any, case_run: Any, item_id: str) -> None:
    """Labels, parameters and links of the current test: called while it is set up."""
    import allure

    case = case_run.case
    # first, so allure-pytest never represents the raw pytest parameter (it skips names already set)
    allure.dynamic.parameter("oimi_item", item_id, excluded=True, mode=allure.parameter_mode.HIDDEN)
    allure.dynamic.epic(family_titles().get(case.family, case.family))
    allure.dynamic.feature(case.endpoint)
    allure.dynamic.story(check.id)
    allure.dynamic.severity(allure.severity_level(SEVERITY.get(check.severity, "normal")))
    allure.dynamic.tag(case.capability)
    allure.dynamic.label("check_id", check.id)
    allure.dynamic.label("case_id", case.id)
    allure.dynamic.parameter("check", check.id)
    allure.dynamic.parameter("case", case.id)
    allure.dynamic.parameter("model", case_run.model or "-")
    allure.dynamic.parameter("auth", case_run.auth_label)
    allure.dynamic.parameter("stream", "stream" if case.steps[0].stream else "non-stream")
    if check.spec.startswith(("https://", "http://")):
        allure.dynamic.link(check.spec, name=f"spec: {check.spec}")


def describe(check: Any, case_run: Any, result: Any, redactor: Any, cache: dict[str, Any]) -> None:
    """Title, description and attachments: called after the test ran (allure-pytest names the test
    during set-up, and attachments made in a fixture would land on the fixture)."""
    import allure

    case = case_run.case
    allure.dynamic.title(f"{check.id} @ {case_run.id}")
    lines = [f"**{check.title}** ({check.severity})", "", check.doc or "", "",
             f"- case: `{case.id}`: {case.title}", f"- model: `{case_run.model or '-'}`, auth: `{case_run.auth_label}`",
             f"- spec: {check.spec}", f"- outcome: **{result.outcome}**"]
    if result.message:
        lines.append(f"- finding: {result.message}")
    if result.expected_reason:
        lines.append(f"- known deviation: {result.expected_reason}")
    allure.dynamic.description(no_surrogates("\n".join(lines)))
    operations = {s.name: s.operation for s in case.steps}
    for step, exchange in case_run.exchanges.items():
        if exchange.id not in cache:
            events = exchange.events or (_replayed_events(exchange, operations.get(step)) if exchange.replayed
                                         else [])
            # redacted as it was read, and again after this decoding; no lone surrogate reaches Allure's files
            text = transcript(exchange, redactor, events) if events or exchange.stop else None
            cache[exchange.id] = (redactor.text(no_surrogates(json.dumps(exchange.as_dict(), indent=2,
                                                                         ensure_ascii=False))),
                                  len(events), no_surrogates(text) if text is not None else None)
        body, count, text = cache[exchange.id]
        allure.attach(body, name=f"exchange {step}: {exchange.method} {exchange.status or 'no answer'} (redacted)",
                      attachment_type=allure.attachment_type.JSON)
        if text is not None:
            allure.attach(text, name=f"stream transcript {step} ({count} events)",
                          attachment_type=allure.attachment_type.TEXT)


def _replayed_events(exchange: Any, operation: str | None) -> list[Any]:
    """A replayed exchange keeps only its (redacted) body: read its events again, without times, with the
    reader the live transport would have used (the framing table's)."""
    from .framing import live_reader, stream_framing

    reader = live_reader(exchange.content_type, exchange.status or 0, stream_framing(operation, exchange.url))
    if reader is None:
        return []
    try:
        return [*reader.feed(exchange.body, 0.0), *reader.close()]
    except Exception:  # a malformed stream: the checks say what is wrong with it, the transcript stays out
        return []


def transcript(exchange: Any, redactor: Any, events: list[Any] | None = None) -> str:
    """Every event of a streamed answer with its arrival time, redacted (events are parsed from the
    raw bytes, so their text goes through the redactor here)."""
    events = exchange.events if events is None else events
    ctype = exchange.response_headers.get("content-type", "-")
    lines = [f"{exchange.method} {exchange.url}", f"HTTP {exchange.status}  content-type: {ctype}  "
             f"{len(exchange.body)} bytes, {len(events)} events"]
    if exchange.replayed:
        lines.append("replayed from a cassette: the arrival times are unknown (a cassette keeps no timing)")
    else:
        first = "-" if exchange.first_byte_at is None else f"{exchange.first_byte_at * 1000:.1f} ms"
        lines.append(f"times: ms after the response headers; first body byte {first}, whole exchange "
                     f"{exchange.elapsed * 1000:.1f} ms")
    lines.append("")
    for event in events[:TRANSCRIPT_EVENTS]:
        when = "       ?" if exchange.replayed else f"{event.arrival * 1000:8.1f}"
        if hasattr(event, "data"):  # an SSE event
            head = "".join(f"{name}={value} " for name, value in (("event", event.event), ("id", event.id))
                           if value is not None)
            text = f"{head}data: {event.data}"
        else:  # an element of a JSON-array stream, on one line
            text = json.dumps(event.value, ensure_ascii=False, separators=(",", ":"))
        text = redactor.text(text)
        if len(text) > TRANSCRIPT_LINE:
            text = text[:TRANSCRIPT_LINE] + f" ... ({len(text) - TRANSCRIPT_LINE} more characters)"
        lines.append(f"{when} ms  #{event.index:<4} " + text.replace("\n", "\n" + " " * 20))
    if len(events) > TRANSCRIPT_EVENTS:
        lines.append(f"... and {len(events) - TRANSCRIPT_EVENTS} more events")
    if exchange.stop is not None:
        lines.append(f"stream stopped: {exchange.stop.reason}: {redactor.text(exchange.stop.detail)}")
    return "\n".join(lines) + "\n"
