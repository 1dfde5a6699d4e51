"""No check passes on no evidence. Every check that passed in a run against the faithful sandbox is judged
again with the answer's content taken away (a stream cut before its first event, a stream with no event, a
JSON body of ``{}``), status and headers kept. It must then fail or be skipped with its reason, never pass;
the only passes allowed are of checks whose evidence is the status line, the headers or the bytes' framing,
all still there."""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter

import pytest

from oimi_conformance.checks import Check
from oimi_conformance.engine import Engine, RunConfig
from oimi_conformance.exchange import Exchange
from oimi_conformance.plan import CaseRun
from oimi_conformance.profile import load_profile
from oimi_conformance.stream_limits import StreamStop
from oimi_conformance.target import SANDBOX_KEYS

# Judged from what the evidence-free answers keep: the status, the headers, the key never echoed, the claim
# (an answer came), and the framing of bytes that end cleanly.
WIRE_AREAS = {"http", "auth", "errors"}
WIRE_CHECKS = {"models.claimed-endpoint-works", "compact.never-streamed"}


def judges_the_wire(check: Check) -> bool:
    return check.area in WIRE_AREAS or check.id in WIRE_CHECKS or check.id.endswith(".stream.framing")


def without_evidence(exchange: Exchange, stream: bool) -> dict[str, Exchange]:
    """The answer with its content taken away, status and headers kept."""
    if not stream:
        return {"json {}": dataclasses.replace(exchange, body=b"{}", events=[], stop=None)}
    empty = dataclasses.replace(exchange, body=b"", events=[], chunk_arrivals=[], stop=None)
    return {"stream with no event": empty,
            "stream cut before its first event": dataclasses.replace(
                empty, stop=StreamStop("truncated", "connection closed before the first event", 0))}


def passes_without_evidence(engine: Engine, pairs: list[tuple[Check, CaseRun]]) -> tuple[Counter, int]:
    passes: Counter = Counter()
    judged = 0
    for check, run in pairs:
        if judges_the_wire(check) or engine.judge_one(check, run, engine.facts).outcome != "passed":
            continue
        step = run.case.steps[0]
        for variant, bare in without_evidence(run.exchanges[step.name], step.stream).items():
            stripped = copy.copy(run)
            stripped.exchanges = {**run.exchanges, step.name: bare}
            judged += 1
            if engine.judge_one(check, stripped, engine.facts).outcome == "passed":
                passes[f"{check.id} on {variant} ({run.case.id})"] += 1
    return passes, judged


@pytest.fixture(scope="module")
def faithful_run(sandbox):
    engine = Engine(RunConfig(base_url=sandbox.base_url, keys=dict(SANDBOX_KEYS), profile=load_profile("oimi"),
                              concurrency=16))
    pairs = engine.prepare()
    engine.exchange()
    return engine, pairs


def test_no_check_passes_on_no_evidence(faithful_run):
    engine, pairs = faithful_run
    passes, judged = passes_without_evidence(engine, pairs)
    assert judged > 300, f"only {judged} passed results were re-judged: the run judged too little to prove this"
    assert sum(passes.values()) == 0, "checks that pass with nothing to judge:\n" + "\n".join(sorted(passes))


def test_a_cut_stream_leaves_its_whole_stream_checks_skipped_with_the_reason(faithful_run):
    """The case the audit found: framing stops a stream, the grammar never judges its end, and event-order,
    single-id and the cross-event rules used to pass on zero events."""
    engine, pairs = faithful_run
    outcomes = {}
    for check, run in pairs:
        if run.case.id == "chat.stream" and check.id.startswith("chat.stream.") and run.model == "sandbox-omni":
            stripped = copy.copy(run)
            stripped.exchanges = {"main": without_evidence(run.exchanges["main"], True)[
                "stream cut before its first event"]}
            result = engine.judge_one(check, stripped, engine.facts)
            outcomes[check.id] = (result.outcome, result.message)
    assert outcomes["chat.stream.framing"][0] == "failed"
    for check_id in ("chat.stream.event-order", "chat.stream.event-schema", "chat.stream.single-id",
                     "chat.stream.choices"):
        outcome, message = outcomes[check_id]
        assert outcome == "skipped" and "see chat.stream.framing" in message, (check_id, outcome, message)
