"""Stream grammars: the data of ``specs/grammars/*.yaml`` and the judge that runs them.

A grammar states, for one streaming protocol, how events are framed, how an event's type is
named, which schema each type must satisfy, the allowed order of types as a small state
machine, and the cross-event rules (``stream_rules``) that hold across the whole stream.
The judge is incremental: it is fed events as they arrive and can say what is wrong
before the stream ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from .exceptions import UsageError
from .json_text import loads
from .schemas import CompiledSchema, SchemaStore, default_store
from .specdir import load_data, spec_root
from .stream_rules import RULES, StreamRule
from .violations import Violation

DONE = "[DONE]"
ANY = "*"
MAX_VIOLATIONS = 50  # a broken stream repeats its fault; the first fifty say all there is to say
MAX_PLANS = 256  # event types a judge remembers the plan of; real protocols have a few dozen
# An event type's place in a grammar: it ends the stream anywhere, passes anywhere, or moves the state machine.
_TERMINAL, _FREE, _MOVES = "terminal", "free", "moves"


@dataclass(frozen=True)
class TypeClassifier:
    """How an event's type is found: a JSON field, or the first matching ``when`` rule."""

    field_name: str | None
    rules: tuple[tuple[str | None, str], ...] = ()  # (key that must be present, type)

    def classify(self, data: Any) -> str:
        if self.field_name is not None:
            value = data.get(self.field_name) if isinstance(data, dict) else None
            return value if isinstance(value, str) else "unknown"
        for key, type_name in self.rules:
            if key is None or (isinstance(data, dict) and key in data):
                return type_name
        return "unknown"


@dataclass
class Grammar:
    id: str
    title: str
    spec: str
    done_sentinel: str | None
    classifier: TypeClassifier
    sse_event_field: str  # "must-match-type" | "ignored"
    schemas: dict[str, str]
    states: dict[str, dict[str, str]]
    start: str
    accept: frozenset[str]
    anywhere: frozenset[str]
    terminal_anywhere: frozenset[str]
    rules: list[dict[str, Any]] = field(default_factory=list)
    unknown_types: str = "reject"  # "allow": types the protocol may add later pass anywhere
    file: str = ""
    _compiled: dict[SchemaStore, dict[str, CompiledSchema]] = field(default_factory=dict, init=False, repr=False,
                                                                  compare=False)

    @cached_property  # asked for each new event type of every stream: computed once
    def known_types(self) -> frozenset[str]:
        moves = {t for m in self.states.values() for t in m}
        return frozenset(moves | set(self.schemas) | self.anywhere | self.terminal_anywhere) - {ANY}

    @classmethod
    def from_data(cls, name: str, data: dict[str, Any]) -> Grammar:
        et = data["event_type"]
        classifier = TypeClassifier(
            field_name=et.get("field"),
            rules=tuple((rule.get("has"), rule["type"]) for rule in et.get("rules", [])),
        )
        grammar = cls(
            id=data["id"],
            title=data["title"],
            spec=data.get("spec", ""),
            done_sentinel=data.get("done_sentinel"),
            classifier=classifier,
            sse_event_field=data.get("sse_event_field", "ignored"),
            schemas=dict(data["schemas"]),
            states={state: dict(moves or {}) for state, moves in data["states"].items()},
            start=data["start"],
            accept=frozenset(data["accept"]),
            anywhere=frozenset(data.get("anywhere", [])),
            terminal_anywhere=frozenset(data.get("terminal_anywhere", [])),
            rules=list(data.get("rules", [])),
            unknown_types=data.get("unknown_types", "reject"),
            file=f"specs/grammars/{name}.yaml",
        )
        grammar._check()
        return grammar

    def _check(self) -> None:
        """Reject a grammar that refers to states or rules that do not exist."""
        problems = []
        for state, moves in self.states.items():
            for event_type, target in moves.items():
                if target is not None and target not in self.states:
                    problems.append(f"state {state!r} moves on {event_type!r} to unknown state {target!r}")
        for name in (self.start, *self.accept):
            if name not in self.states:
                problems.append(f"unknown state {name!r}")
        for rule in self.rules:
            if rule.get("rule") not in RULES:
                problems.append(f"unknown rule {rule.get('rule')!r}; known: {', '.join(sorted(RULES))}")
        if problems:
            raise UsageError(f"{self.file}: " + "; ".join(problems))

    @cached_property
    def final_states(self) -> frozenset[str]:
        """Accepting states with no way out: reaching one ends the stream."""
        return frozenset(s for s in self.accept if not self.states.get(s))

    @cached_property
    def ending_types(self) -> frozenset[str]:
        """Types that lead to a final state somewhere: seen out of place, they still end the stream."""
        final = {s for s in self.accept if not any(t for t in self.states.get(s, {}).values())}
        return frozenset(t for m in self.states.values() for t, target in m.items() if target in final)

    def compiled_schemas(self, store: SchemaStore) -> dict[str, CompiledSchema]:
        """Event type -> its compiled schema in ``store``; built once per store, not once per stream."""
        compiled = self._compiled.get(store)
        if compiled is None:
            compiled = self._compiled[store] = {t: store.get(s) for t, s in self.schemas.items() if s}
        return compiled

    def expected_after(self, state: str) -> list[str]:
        moves = sorted(t for t, target in self.states.get(state, {}).items() if target is not None)
        return moves + sorted(self.anywhere | self.terminal_anywhere)


@cache
def load_grammar(name: str) -> Grammar:
    if not (spec_root() / "grammars" / f"{name}.yaml").is_file():
        raise UsageError(f"unknown grammar {name!r}")
    return Grammar.from_data(name, load_data(f"grammars/{name}.yaml"))


@dataclass(slots=True)
class JudgedEvent:
    """One event as the judge saw it: its type, parsed data and arrival time."""

    index: int
    type: str
    data: Any
    arrival: float | None = None
    sse_event: str | None = None


class StreamJudge:
    """Judges one stream, event by event, against a grammar.

    Each event is parsed once and the parsed value is shared by its schema, the state machine and
    every rule. What an event's type needs (its compiled schema, its place in the grammar, the rules
    that listen to it) is looked up once per type and stream (``_plan``), not once per event.
    """

    def __init__(self, grammar: Grammar, request: dict[str, Any] | None = None,
                 store: SchemaStore | None = None) -> None:
        self.grammar = grammar
        self.request = request or {}
        self.store = store or default_store()
        self.state = grammar.start
        self.ended_by: str | None = None  # the event that reached a terminal state
        self.count = 0  # events judged
        self.last_type: str | None = None
        self.violations: list[Violation] = []
        self._rules: list[StreamRule] = [
            RULES[spec["rule"]](grammar, spec, self.request) for spec in grammar.rules
        ]
        self._compiled = grammar.compiled_schemas(self.store)
        # type -> (its schema or None, its place in the grammar, the rules that look at it), for the
        # first MAX_PLANS types of the stream (a hostile stream may name a new type in every event)
        self._plans: dict[str, tuple[CompiledSchema | None, str, tuple[StreamRule, ...]]] = {}
        self._classify = grammar.classifier.classify
        self._match_event_name = grammar.sse_event_field == "must-match-type"
        self._done = grammar.done_sentinel

    def _report(self, found: list[Violation]) -> None:
        room = MAX_VIOLATIONS - len(self.violations)
        if room > 0:
            self.violations.extend(found[:room])

    def _plan(self, event_type: str) -> tuple[CompiledSchema | None, str, tuple[StreamRule, ...]]:
        plan = self._plans.get(event_type)
        if plan is None:
            grammar = self.grammar
            compiled = self._compiled.get(event_type) or self._compiled.get(ANY)
            if event_type in grammar.terminal_anywhere:
                place = _TERMINAL
            elif event_type in grammar.anywhere or (
                    grammar.unknown_types == "allow" and event_type not in grammar.known_types):
                place = _FREE
            else:
                place = _MOVES
            rules = tuple(rule for rule in self._rules if rule.listens_to(event_type))
            plan = (compiled, place, rules)
            if len(self._plans) < MAX_PLANS:
                self._plans[event_type] = plan
        return plan

    def feed_events(self, events: Iterable[Any]) -> None:
        """Feed SSE events (``data``, ``index``, ``arrival``, ``event`` attributes), in order."""
        feed = self.feed_raw
        for event in events:
            feed(event.data, event.index, event.arrival, event.event)

    def feed_elements(self, elements: Iterable[Any]) -> None:
        """Feed already parsed JSON-array elements (``value``, ``index``, ``arrival`` attributes), in order."""
        feed = self.feed_value
        for element in elements:
            feed(element.value, element.index, element.arrival)

    def feed_raw(self, data_text: str, index: int, arrival: float | None = None,
                 sse_event: str | None = None) -> None:
        """Feed one event's data as text (an SSE ``data`` field or a JSON-array element)."""
        if data_text == self._done:
            _, place, rules = self._plan(DONE)
            self._advance(JudgedEvent(index, DONE, None, arrival, sse_event), place, rules)
            return
        try:
            data = loads(data_text)
        except (ValueError, RecursionError) as exc:
            # a RecursionError (JSON nested past Python's limit) has no msg/pos to quote
            where = f"{exc.msg} at char {exc.pos}" if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
            self._report([Violation(
                "framing.invalid-json", f"event data is not JSON ({where}): "
                f"{data_text[:120]!r}", f"/events/{index}", self.grammar.file)])
            return
        self.feed_value(data, index, arrival, sse_event)

    def feed_value(self, data: Any, index: int, arrival: float | None = None,
                   sse_event: str | None = None) -> None:
        event_type = self._classify(data)
        if self._match_event_name and sse_event is not None and sse_event != event_type:
            self._report([Violation(
                "framing.event-name-mismatch",
                f"SSE 'event: {sse_event}' names a different type than the data's {event_type!r}",
                f"/events/{index}", self.grammar.file)])
        compiled, place, rules = self._plans.get(event_type) or self._plan(event_type)
        # the compiled validator answers "valid" fast; only an invalid event is walked for its errors
        if compiled is not None and not compiled.is_valid(data):
            self._report(compiled.explain(data, ("events", index)))
        self._advance(JudgedEvent(index, event_type, data, arrival, sse_event), place, rules)

    def _advance(self, event: JudgedEvent, place: str, rules: tuple[StreamRule, ...]) -> None:
        """Move the state machine on ``event`` (its type's ``place`` in the grammar), then run ``rules``."""
        event_type = event.type
        self.count += 1
        self.last_type = event_type
        if self.ended_by is not None:
            self._report([Violation(
                "grammar.after-end", f"event {event_type!r} after the stream already ended with "
                f"{self.ended_by!r}", f"/events/{event.index}", self.grammar.file)])
        elif place == _TERMINAL:
            self.ended_by = event_type
        elif place == _MOVES:
            grammar = self.grammar
            moves = grammar.states[self.state]
            # an explicit null forbids a type that the wildcard would otherwise let through
            target = moves[event_type] if event_type in moves else (moves.get(ANY) if event_type != DONE else None)
            if target is None:
                expected = ", ".join(grammar.expected_after(self.state)) or "nothing"
                self._report([Violation(
                    "grammar.order", f"event {event_type!r} is not allowed in state {self.state!r}; "
                    f"expected one of: {expected}", f"/events/{event.index}", f"{grammar.file}#/states/{self.state}")])
                if event_type in grammar.ending_types:
                    self.ended_by = event_type  # one fault, not a cascade of "incomplete" after it
            else:
                self.state = target
                if target in grammar.final_states:
                    self.ended_by = event_type
        for rule in rules:
            found = rule.on_event(event)
            if found:
                self._report(found)

    def finish(self, stop_reason: str | None = None, stop_detail: str = "") -> list[Violation]:
        """Close the judgement: framing stop, incomplete grammar, end-of-stream rules."""
        grammar = self.grammar
        if stop_reason is not None:
            self._report([Violation(f"framing.{stop_reason}", stop_detail or f"stream stopped: {stop_reason}",
                                    f"/events/{self.count}", grammar.file)])
        if stop_reason is not None:
            return self.violations  # what is missing after a cut is the cut's consequence, not a new fault
        if not self.count:
            self._report([Violation("grammar.empty", "the stream carried no events", "", grammar.file)])
        elif self.ended_by is None and self.state not in grammar.accept:
            expected = ", ".join(grammar.expected_after(self.state))
            self._report([Violation(
                "grammar.incomplete", f"stream ended after {self.last_type!r} in state {self.state!r}; "
                f"still expected one of: {expected}", f"/events/{self.count}",
                f"{grammar.file}#/accept")])
        for rule in self._rules:
            found = rule.finish()
            if found:
                self._report(found)
        return self.violations
