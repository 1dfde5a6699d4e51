"""How a check's run becomes its ``CheckResult``: the one path for the engine, the official-SDK checks and
the fuzzer.

``start`` makes the result of a check on its subject (a case run, an SDK call, a fuzzed operation), passed
until settled. An ``OutcomePolicy`` (the run's expectations, ``--strict-expectations`` and redactor) then
settles it from what happened: it passed; a ``ContractViolation`` (failed, or xfailed with its
``expected_reason`` when the expectations list it); a ``CheckSkipped`` (skipped, with its structured
``unsupported`` reason when it has one); no answer (error); a bug in the check (error). Under strict
expectations, a pass the expectations list as a failure fails: the target changed. Every string of a
settled result is redacted here, once: messages and violations quote decoded answers, in which an escaped
key is plain again.

The engine's refusal rule (``refusal``: a clean, documented 4xx a model may legitimately give) lives here
too, as it decides a result's outcome before its check runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .checks import CheckContext, CheckSkipped
from .exceptions import ContractViolation
from .results import CheckResult, Outcome, Severity, Unsupported
from .safe_text import clean_value, no_surrogates

if TYPE_CHECKING:
    from .cases import Case
    from .checks import Check
    from .exchange import Exchange
    from .plan import CaseRun
    from .profile import Expectations, Profile
    from .redact import Redactor


def start(check: Check[Any] | None = None, *, check_id: str = "", title: str = "", severity: Severity = "error",
          spec: str = "", case_id: str, endpoint: str, capability: str, operation: str, model: str | None,
          auth: str, stream: bool, exchange: str | None = None, sdk_version: str | None = None) -> CheckResult:
    """The result of ``check`` (or of the check named by ``check_id``/``title``/``severity``/``spec``: the
    fuzzer's checks are not in the catalogue) on one subject, passed until settled."""
    if check is not None:
        check_id, title, severity, spec = check.id, check.title, check.severity, check.spec
    return CheckResult(check_id=check_id, title=title, case_id=case_id, endpoint=endpoint, capability=capability,
                       operation=operation, model=model, auth=auth, stream=stream, outcome=Outcome.PASSED,
                       severity=severity, message="", spec=spec, exchange=exchange, sdk_version=sdk_version)


@dataclass(frozen=True)
class OutcomePolicy:
    """What every result of a run is settled by: the expectations (known failures), strict mode, and the
    redactor of the run's keys."""

    expectations: Expectations
    redactor: Redactor
    strict: bool = False

    # -- what happened ----------------------------------------------------------------------------

    def passed(self, result: CheckResult, message: str = "") -> CheckResult:
        """The check held. Under strict expectations, a pass the expectations list as a failure fails."""
        if self.strict:
            unexpected = self.expectations.unexpected_pass(result.check_id, result.case_id, result.model)
            if unexpected:
                return self.settle(result, Outcome.FAILED, unexpected)
        return self.settle(result, Outcome.PASSED, message)

    def violated(self, result: CheckResult, message: str, violations: list[dict[str, str]] | None = None,
                 rules: list[str] | None = None) -> CheckResult:
        """The target broke the check: xfailed when the expectations list the failure, else failed.
        ``rules``: the violations as text (``str(Violation)``), which an expectation may narrow on."""
        if violations is not None:
            result.violations = violations
        expected = self.expectations.find(result.check_id, result.case_id, result.model, rules)
        if expected is not None:
            result.expected_reason = expected.cited_reason
            return self.settle(result, Outcome.XFAILED, message)
        return self.settle(result, Outcome.FAILED, message)

    def skipped(self, result: CheckResult, reason: str, unsupported: Unsupported | None = None) -> CheckResult:
        result.unsupported = unsupported
        return self.settle(result, Outcome.SKIPPED, reason)

    def no_answer(self, result: CheckResult, fault: str) -> CheckResult:
        """A transport fault: nothing to judge, never blamed on the contract."""
        return self.settle(result, Outcome.ERROR, f"no answer to judge: {fault}")

    def internal_error(self, result: CheckResult, what: str) -> CheckResult:
        """A bug in the check itself."""
        return self.settle(result, Outcome.ERROR, f"internal error in check {result.check_id}: {what}")

    def raised(self, result: CheckResult, exc: Exception) -> CheckResult:
        """Settle from what a catalogue check raised."""
        if isinstance(exc, ContractViolation):
            return self.violated(result, str(exc), [v.as_dict() for v in exc.violations],
                                 [str(v) for v in exc.violations])
        if isinstance(exc, CheckSkipped):
            return self.skipped(result, str(exc), exc.unsupported)
        return self.internal_error(result, f"{type(exc).__name__}: {exc}")

    def run(self, result: CheckResult, call: Callable[[], object]) -> CheckResult:
        """``call()`` (a check on its context) and settle the result from what it did."""
        try:
            call()
        except Exception as exc:  # a check's own bug is an error result, never a traceback
            return self.raised(result, exc)
        return self.passed(result)

    # -- the one place a result is written --------------------------------------------------------

    def settle(self, result: CheckResult, outcome: Outcome, message: str) -> CheckResult:
        """Set the outcome and message; redact every string of the result."""
        result.outcome = outcome
        result.message = self.redactor.text(no_surrogates(message))
        result.violations = self.redactor.value(clean_value(result.violations))
        if result.unsupported is not None:
            said = self.redactor.text(no_surrogates(result.unsupported["said"]))
            result.unsupported = {**result.unsupported, "said": said}
        return result


# -- the engine's refusal rule ---------------------------------------------------------------------

def refusal(case: Case, run: CaseRun, main: Exchange, profile: Profile, excuse_claimed: bool = False
            ) -> tuple[str, Unsupported] | None:
    """A clean, documented 4xx to a request a model may legitimately not support: an optional case, or a
    per-model case whose endpoint nothing claims for this model. A model that claims the endpoint has no such
    excuse: its refusal is judged (and fails) under every profile. The skip message, and its structured
    reason."""
    if not case.steps[0].expect.success or not (run.optional or (excuse_claimed and run.claimed)):
        return None
    if main.no_channel:  # new-api: listed, yet no channel serves it here; a claim says whether that is a fault
        said = error_message(main.json)
        return f"unsupported by model {run.model}: HTTP 503 ({said})", {"by": "model", "status": 503, "said": said}
    if main.status is None or not 400 <= main.status < 500 or main.status in (401, 429):
        return None
    from .checks.common import envelope_problems

    if envelope_problems(main, profile.envelopes_for(case.family)):
        return None  # an unclean 4xx is judged, not excused
    said = error_message(main.json)
    return (f"unsupported by model {run.model}: HTTP {main.status}" + (f" ({said})" if said else ""),
            {"by": "model", "status": main.status, "said": said})


def error_message(body: Any) -> str:
    """The message of an OpenAI-style error envelope, short; empty when there is none."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))[:160]
    return ""


def judge_case_run(policy: OutcomePolicy, check: Check[CheckContext], run: CaseRun, facts: dict[str, Any],
                   profile: Profile, excuse_claimed: bool = False) -> CheckResult:
    """One catalogue check on one case run of the engine."""
    case = run.case
    main = run.exchanges.get(case.steps[0].name)
    result = start(check, case_id=case.id, endpoint=case.endpoint, capability=case.capability,
                   operation=case.steps[0].operation, model=run.model, auth=run.auth_label,
                   stream=case.steps[0].stream, exchange=main.id if main else None)
    faulted = next((e for e in run.exchanges.values() if e.fault), None)
    missing = next((e for e in run.exchanges.values() if e.missing), None)
    if missing is not None:  # replay asked for an exchange the cassettes lack: no expectation excuses that
        return policy.settle(result, Outcome.FAILED, missing.missing or "")
    if run.not_sent or main is None:
        return policy.skipped(result, run.not_sent or "not sent")
    if faulted is not None:
        return policy.no_answer(result, f"{faulted.fault} ({faulted.method} {faulted.url})")
    if check.needs_timing and main.replayed:
        return policy.skipped(result, "judged from live arrival times; a replay has none")
    refused = refusal(case, run, main, profile, excuse_claimed)
    if refused and check.id != "models.claimed-endpoint-works":
        return policy.skipped(result, *refused)
    ctx = CheckContext(check=check, case=case, model=run.model, profile=profile, exchanges=run.exchanges,
                       auth_label=run.auth_label, claimed=run.claimed, run_facts=facts)
    return policy.run(result, lambda: check.func(ctx))
