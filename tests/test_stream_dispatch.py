"""The stream judge calls a rule only for the event types it says it acts on (StreamRule.listens_to):
for every other type, on_event must find nothing and change nothing, on every real recorded event."""

from __future__ import annotations

import copy
import json

import pytest

from oimi_conformance.grammar import JudgedEvent, load_grammar
from oimi_conformance.kinds import get_kind, kinds, reader_for
from oimi_conformance.stream_limits import read_all
from oimi_conformance.stream_rules import RULES

from .real_traffic import exchanges, kind_for, load, require_traffic

STREAM_KINDS = sorted(name for name, kind in kinds().items() if kind.grammar)
FIXED = ("grammar", "spec", "request")  # a rule's parameters, not its state


def rule_state(rule: object) -> dict:
    return {name: copy.deepcopy(value) for name, value in vars(rule).items() if name not in FIXED}


def recorded_streams(kind_name: str) -> list[list[JudgedEvent]]:
    """The events of each recorded stream of this kind, typed by the kind's grammar."""
    kind = get_kind(kind_name)
    grammar = load_grammar(kind.grammar or "")
    streams = []
    for path in exchanges():
        exchange = load(path)
        if kind_for(exchange) != kind_name:
            continue
        events = []
        for index, item in enumerate(read_all(exchange["response_body"].encode("utf-8"),
                                              reader_for(kind.framing)).items):
            if kind.framing != "sse":
                data = item.value
            elif item.data == grammar.done_sentinel:
                events.append(JudgedEvent(index, "[DONE]", None))
                continue
            else:
                data = json.loads(item.data)
            events.append(JudgedEvent(index, grammar.classifier.classify(data), data))
        streams.append(events)
    return streams


@pytest.mark.parametrize("kind_name", STREAM_KINDS)
def test_rules_ignore_exactly_the_types_they_do_not_listen_to(kind_name: str) -> None:
    require_traffic()
    streams = recorded_streams(kind_name)
    if not streams:
        pytest.skip(f"no recorded stream of {kind_name}")
    grammar = load_grammar(get_kind(kind_name).grammar or "")
    # every type of the grammar, and types it does not know, each with the data of every recorded event
    types = sorted(grammar.known_types | {"unknown", "[DONE]", "some.new.type"})
    checked = 0
    for spec in grammar.rules:
        for events in streams:
            rule = RULES[spec["rule"]](grammar, spec, {"stream_options": {"include_usage": True}})
            for event in events:
                before = rule_state(rule)
                for event_type in types:
                    if not rule.listens_to(event_type):
                        assert rule.on_event(JudgedEvent(event.index, event_type, event.data)) == [], \
                            (spec["rule"], event_type)
                        checked += 1
                assert rule_state(rule) == before, spec["rule"]
                rule.on_event(event)  # then the event as it came, so the rule's state moves on as in the stream
    assert checked


def test_a_new_type_in_every_event_is_judged_alike_past_the_plan_cache() -> None:
    """A stream naming more types than the judge remembers plans for (MAX_PLANS) is judged as before:
    unknown types pass, the rules over every type still run, and the cache stays bounded."""
    from oimi_conformance.grammar import MAX_PLANS, StreamJudge
    from oimi_conformance.sse import SSEReader

    from . import bodies as b

    events = b.responses_stream_events()
    extra = [{"type": f"response.vendor_{n}.delta", "sequence_number": 0} for n in range(MAX_PLANS + 50)]
    events[2:2] = extra
    for number, event in enumerate(events):
        event["sequence_number"] = number
    events[-2]["sequence_number"] = 1  # the last of them does not increase
    judge = StreamJudge(load_grammar("openai.responses.stream"))
    judge.feed_events(read_all(b.sse(events, named=True).encode(), SSEReader()).items)
    found = judge.finish()
    assert [(v.rule, v.pointer) for v in found] == [("stream.strictly-increasing", f"/events/{len(events) - 2}")]
    assert judge.count == len(events)
    assert len(judge._plans) == MAX_PLANS
