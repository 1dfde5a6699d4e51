"""The one results pipeline (outcomes.py), typed outcomes, the structured unsupported reason and the one token
counter: the rules every source of results (run, SDK, fuzz) now shares."""

from __future__ import annotations

import json

import jsonschema
import pytest

from oimi_conformance.capabilities import verdict_of
from oimi_conformance.checks import CheckSkipped
from oimi_conformance.exceptions import ContractViolation
from oimi_conformance.exchange import Exchange
from oimi_conformance.outcomes import OutcomePolicy, start
from oimi_conformance.profile import Expectation, Expectations
from oimi_conformance.redact import Redactor
from oimi_conformance.results import (
    CheckResult,
    Outcome,
    RunRecord,
    StrEnumCompat,
    cut_short_lines,
    judged_nothing,
    unsupported_lines,
    unsupported_of,
)
from oimi_conformance.specdir import spec_root
from oimi_conformance.sse import SSEEvent
from oimi_conformance.usage import add_body, reported, tokens_spent
from oimi_conformance.violations import Violation

KEY = "sk-outcomes-test-key-1234567890"
KNOWN = Expectations([Expectation(check="chat.usage", reason="known: usage is late", case="chat.*",
                                  violations=(r"/usage",))], source="t.toml")


def _result(check_id: str = "chat.usage", model: str | None = "m") -> CheckResult:
    return start(check_id=check_id, title="t", spec="s", case_id="chat.basic", endpoint="chat",
                 capability="chat", operation="createChatCompletion", model=model, auth="bearer", stream=False)


def _policy(strict: bool = False) -> OutcomePolicy:
    return OutcomePolicy(KNOWN, Redactor([KEY]), strict)


def test_a_listed_failure_is_xfailed_with_its_reason_and_an_unlisted_one_fails():
    known = _policy().violated(_result(), "late", [Violation("r", "m", "/usage").as_dict()], ["/usage: m (r)"])
    assert known.outcome is Outcome.XFAILED and known.expected_reason == "known: usage is late"
    # the entry narrows on its violations: another rule broken on the same check is new, and fails
    other = _policy().violated(_result(), "other", [], ["/choices: m (r)"])
    assert other.outcome is Outcome.FAILED and other.expected_reason is None
    assert _policy().violated(_result("chat.other"), "x").outcome is Outcome.FAILED


def test_strict_expectations_fail_a_listed_check_that_passes():
    assert _policy().passed(_result(), "fine").outcome is Outcome.PASSED
    strict = _policy(strict=True).passed(_result(), "fine")
    assert strict.outcome is Outcome.FAILED and "expected failure now passes: update t.toml" in strict.message
    assert _policy(strict=True).passed(_result("chat.other")).outcome is Outcome.PASSED


def test_every_string_of_a_settled_result_is_redacted_once_settled():
    policy = _policy()
    failed = policy.violated(_result("chat.other"), f"echoed {KEY} \ud800",
                             [{"rule": "r", "message": f"saw {KEY}", "pointer": "", "spec": ""}])
    assert KEY not in json.dumps(failed.as_dict()) and "\ud800" not in failed.message
    skipped = policy.skipped(_result(), "unsupported", {"by": "model", "status": 400, "said": f"bad key {KEY}"})
    assert skipped.unsupported is not None and KEY not in skipped.unsupported["said"]
    assert skipped.unsupported["status"] == 400


def test_what_a_check_raised_settles_its_result():
    policy = _policy()

    def raises(exc: Exception) -> CheckResult:
        def call() -> None:
            raise exc
        return policy.run(_result("chat.other"), call)

    gone = {"by": "gateway", "status": 404, "said": "Not Found"}
    skipped = raises(CheckSkipped("unsupported capability: no route", gone))  # type: ignore[arg-type]
    assert (skipped.outcome, skipped.unsupported) == (Outcome.SKIPPED, gone)
    failed = raises(ContractViolation("bad", [Violation("schema.type", "not a string", "/id")]))
    assert failed.outcome is Outcome.FAILED and failed.violations[0]["pointer"] == "/id"
    crashed = raises(KeyError("x"))
    assert crashed.outcome is Outcome.ERROR and crashed.message == "internal error in check chat.other: KeyError: 'x'"
    assert policy.run(_result("chat.other"), lambda: None).outcome is Outcome.PASSED
    assert policy.no_answer(_result(), "timed out").message == "no answer to judge: timed out"


def test_outcomes_are_written_as_their_values_and_read_back_as_members():
    result = _policy().skipped(_result(), "unsupported by model m: HTTP 400", {"by": "model", "status": 400,
                                                                                "said": ""})
    row = json.loads(json.dumps(RunRecord(meta={}, results=[result], exchanges={}).as_dict()))["results"][0]
    assert row["outcome"] == "skipped" and row["unsupported"] == {"by": "model", "status": 400, "said": ""}
    assert CheckResult(**row).outcome is Outcome.SKIPPED
    schema = json.loads((spec_root() / "schemas" / "report" / "results.json").read_text())
    item = jsonschema.Draft202012Validator(schema["properties"]["results"]["items"])
    item.validate(row)
    item.validate({k: v for k, v in row.items() if k != "unsupported"})  # older results still load
    with pytest.raises(jsonschema.ValidationError):
        item.validate({**row, "unsupported": {"by": "model", "status": "400", "said": ""}})


def test_the_unsupported_reason_is_read_from_the_field_and_from_an_older_message():
    new = {"outcome": "skipped", "message": "anything", "unsupported": {"by": "model", "status": 404, "said": "no"}}
    assert unsupported_of(new) == {"by": "model", "status": 404, "said": "no"}
    assert unsupported_of({"outcome": "skipped", "message": "unsupported by model m: HTTP 400", "unsupported": None}) \
        is None  # a new record says so in the field, never in the message
    old = {"outcome": "skipped", "message": "unsupported by model m (x): HTTP 400 (bad (request id: 1))"}
    assert unsupported_of(old) == {"by": "model", "status": 400, "said": "bad (request id: 1)"}
    route = {"outcome": "skipped", "message": "unsupported capability: GET http://h/v1beta/models answered HTTP 404 "
                                              "in no error envelope"}
    assert unsupported_of(route) == {"by": "gateway", "status": 404, "said": ""}
    assert unsupported_of({"outcome": "skipped", "message": "request budget exhausted"}) is None
    assert unsupported_of({"outcome": "failed", "message": "unsupported by model m: HTTP 400"}) is None


def test_a_cell_refused_by_its_model_carries_the_status_and_the_summary_reads_the_field():
    def row(outcome: str, message: str, unsupported: object = None) -> dict:
        return {"check_id": "c", "case_id": "k", "outcome": outcome, "message": message, "unsupported": unsupported}

    cell = verdict_of([row("skipped", "the model said no", {"by": "model", "status": 422, "said": "no"})])
    assert (cell["verdict"], cell["status"]) == ("unsupported", 422)
    assert verdict_of([row("skipped", "unsupported by model m: HTTP 400")])["verdict"] == "not probed"
    refused = _policy().skipped(_result(), "unsupported by model m: HTTP 422 (no)",
                                {"by": "model", "status": 422, "said": "no (request id: r1)"})
    route = _policy().skipped(_result(model="m2"), "unsupported capability", {"by": "gateway", "status": 404,
                                                                              "said": "Not Found"})
    lines = unsupported_lines(RunRecord(meta={}, results=[refused, route], exchanges={}))
    assert lines[0].startswith("unsupported: 1 case run(s) (1 results)")  # a missing route is not the model's
    assert lines[1] == "  m chat: 1 case(s), HTTP 422: no"


def _exchange(id: str, body: object = None, events: list[object] | None = None) -> Exchange:
    return Exchange(id=id, method="POST", url="http://h/v1/x", request_headers={}, request_body=None, status=200,
                    body=json.dumps(body).encode() if body is not None else b"", events=list(events or []))


def _event(data: str) -> SSEEvent:
    return SSEEvent(data=data, event=None, id=None, retry=None, index=0, offset=0, arrival=0.0)


def test_one_token_counter_for_bodies_streams_and_fuzzed_answers():
    assert reported([{"usage": {"prompt_tokens": 3, "completion_tokens": True}}]) == {"input": 3}  # a bool is no count
    chat = _exchange("a", {"usage": {"prompt_tokens": 3, "completion_tokens": 5}})
    stream = _exchange("b", events=[
        _event(json.dumps({"type": "message_start", "message": {"usage": {"input_tokens": 7, "output_tokens": 1}}})),
        _event("not json"),
        _event(json.dumps({"type": "message_delta", "usage": {"output_tokens": 9}}))])
    # streamed counts are cumulative: the last report counts; an exchange judged twice counts once
    assert tokens_spent([chat, stream, chat]) == {"input": 10, "output": 14}
    total = {"input": 1, "output": 0}
    add_body(total, b'{"usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 4}}')
    add_body(total, b"data: {}\n\n")  # a stream's text is no JSON body: it reports nothing
    assert total == {"input": 3, "output": 4}


def _skipped(message: str) -> CheckResult:
    result = _result()
    result.outcome, result.message = Outcome.SKIPPED, message
    return result


def test_a_run_cut_short_by_its_own_limits_says_so_and_fails_only_when_it_judged_nothing():
    budget = "request budget (--max-requests 3) exhausted"
    unfinished = "unfinished: the run reached --max-duration 1s"
    timing = "judged from live arrival times; a replay has none"
    record = RunRecord(meta={}, results=[_skipped(budget), _skipped(budget), _skipped(unfinished)], exchanges={})
    assert cut_short_lines(record) == [f"not judged: 2 result(s) skipped: {budget}",
                                       f"not judged: 1 result(s) skipped: {unfinished}"]
    nothing = judged_nothing(record)
    assert nothing is not None and f"all 3 results were skipped (2 of them: {budget})" in nothing
    # something judged: a partial run is green for what it judged (the summary lists what was cut)
    passed = _result()
    assert judged_nothing(RunRecord(meta={}, results=[*record.results, passed], exchanges={})) is None
    # every skip explained by the selection alone (timing checks on a replay): not a cut-short run
    assert judged_nothing(RunRecord(meta={}, results=[_skipped(timing)], exchanges={})) is None
    assert cut_short_lines(RunRecord(meta={}, results=[_skipped(timing)], exchanges={})) == []


def test_the_python_3_10_str_enum_behaves_as_the_stdlib_one():
    import enum

    class Compat(StrEnumCompat):
        NOT_PROBED = "not probed"

    class Stdlib(enum.StrEnum):
        NOT_PROBED = "not probed"

    for member in (Compat.NOT_PROBED, Stdlib.NOT_PROBED):
        assert member == "not probed" and str(member) == "not probed" and f"{member:>12}" == "  not probed"
        assert json.dumps({"verdict": member}) == '{"verdict": "not probed"}'
        assert {"not probed": 1}[member] == 1 and hash(member) == hash("not probed")
        assert type(member)("not probed") is member
