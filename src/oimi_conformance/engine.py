"""A run, orchestrated: prepare (select checks, discover models, plan), exchange, judge each check, record.

Plan, then exchange, then judge: each request is sent once and every check that needs its answer judges the
same record. The jobs live apart: ``discovery.py`` finds the models, ``plan.py`` plans the case runs,
``scheduler.py`` sends them (dedupe, budget, concurrency, retries), ``cassettes.py`` records them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .cases import Case
from .checks import Check, CheckContext, CheckSkipped, select
from .discovery import discover
from .errors import ContractViolation, UsageError
from .exchange import Exchange
from .headers import ExtraHeaders
from .plan import CaseRun, ModelInfo, never_issued_keys, plan_runs
from .profile import Expectations, Profile
from .redact import Redactor
from .results import UNSUPPORTED, CheckResult, RunRecord
from .safe_text import clean_value, no_surrogates
from .scheduler import Scheduler
from .stream_limits import StreamLimits
from .transport import LiveTransport, Transport


@dataclass
class RunConfig:
    base_url: str
    keys: dict[str, str]  # role (main, no-quota, rate-limited, restricted) -> key
    profile: Profile
    expectations: Expectations = field(default_factory=Expectations)
    models: list[str] | None = None
    concurrency: int = 8
    timeout: float = 30.0  # idle seconds per read; a whole exchange gets 4x
    max_requests: int | None = None
    checks: list[str] | None = None
    exclude_checks: list[str] | None = None
    cases: list[str] | None = None
    target: str = "target"
    progress: Callable[[str], None] | None = None
    record_mode: str | None = None  # None: live, no cassettes; else one of cassettes.RECORD_MODES
    cassette_dir: Path | None = None  # cassettes/<target>
    dry_run: bool = False  # plan only: send nothing but discovery's GET /v1/models (nothing at all given models)
    strict_expectations: bool = False  # a passing check that the expectations list as failing fails
    # the capability matrix describes what works: there a claimed endpoint's clean refusal is `unsupported` (the
    # claim's disagreement is listed apart); a run judges it, and it fails
    excuse_claimed_refusals: bool = False
    headers: ExtraHeaders = field(default_factory=ExtraHeaders)  # --header / OIMI_HEADERS / profile [headers]
    shard: tuple[int, int] | None = None  # --shard K/N: (K, N)
    max_models: int | None = None  # probe the first N listed models
    max_duration: float | None = None  # seconds for the whole run; unfinished case runs are skipped as such
    models_threshold: int | None = None  # above this many listed models, --models or --max-models is required
    follow_urls: bool = True  # GET the URLs answers hand back (steps with url_from); --no-follow-urls

    @property
    def secrets(self) -> list[str]:
        """Everything redacted like a key: the keys (with and without new-api's optional "sk-" prefix, which
        the auth.sk-prefix-optional case sends bare) and the --secret-header values."""
        keys = list(self.keys.values())
        # a bare form shorter than 8 characters would redact ordinary words ("sk-stub" -> "stub-model")
        bare = [k.removeprefix("sk-") for k in keys if k.startswith("sk-") and len(k) >= 11]
        return [*keys, *bare, *self.headers.secrets]


class Engine:
    """Four phases, each callable alone (the pytest plugin calls them at collection, at the first test, per
    test and at the end): ``prepare`` (discover models, plan), ``exchange`` (send), ``judge_one``, ``record``."""

    def __init__(self, config: RunConfig, transport_factory: Callable[[Redactor, StreamLimits], Transport] | None
                 = None) -> None:
        self.config = config
        self.redactor = Redactor([*config.secrets, *never_issued_keys()], config.headers.secret_names)
        self.limits = StreamLimits(idle_timeout=config.timeout, total_timeout=config.timeout * 4)
        self.transport_factory = transport_factory or self._default_transport
        self.library: Any = None
        if config.record_mode is not None:
            from .cassettes import RECORD_MODES, CassetteLibrary

            if config.record_mode not in RECORD_MODES or config.cassette_dir is None:
                raise UsageError(f"record mode must be one of {RECORD_MODES}, with a cassette folder")
            self.library = CassetteLibrary(Path(config.cassette_dir), config.headers.lower_names())
        self.scheduler = Scheduler(config, lambda: self.transport_factory(self.redactor, self.limits), self.limits,
                                   self._refused, lambda: self.library is not None and self.replaying)
        self.models: list[ModelInfo] = []
        self.runs: list[CaseRun] = []
        self.checks: list[Check] = []
        self.facts: dict[str, Any] = {}
        self.started = time.time()
        self.exchanged = False

    @property
    def sent(self) -> int:
        """Distinct requests asked for so far (the discovery's included)."""
        return self.scheduler.sent

    @property
    def finished(self) -> dict[tuple[Any, ...], Exchange]:
        """Request key -> its answer, for every request answered so far."""
        return self.scheduler.finished

    @property
    def network_requests(self) -> int:
        return self.scheduler.network_requests

    def _default_transport(self, redactor: Redactor, limits: StreamLimits) -> Transport:
        if self.library is None:
            return LiveTransport(redactor, limits)
        from .transport import CassetteTransport

        live = None if self.config.record_mode == "none" else LiveTransport(redactor, limits)
        hint = (f"oimi-conformance run --record-mode new_episodes --cassette-dir {self.config.cassette_dir} "
                "--base-url URL")
        return CassetteTransport(self.config.record_mode or "none", self.library, redactor, live, hint)

    @property
    def replaying(self) -> bool:
        return self.config.record_mode == "none" or (self.config.record_mode == "once" and self.library.exists())

    def _refused(self, run: CaseRun) -> str | None:
        """Why ``run`` counts as refused by its model (a clean, documented 4xx), or None."""
        main = run.exchanges.get(run.case.steps[0].name)
        if main is None or main.fault or main.missing:
            return None
        return _unsupported(run.case, run, main, self.config.profile, self.config.excuse_claimed_refusals)

    # -- judge ------------------------------------------------------------------------------

    def judge_one(self, check: Check, run: CaseRun, facts: dict[str, Any]) -> CheckResult:
        """One check on one case run; every string of the result is redacted (messages and violations
        quote decoded answers, in which an escaped key is plain again)."""
        result = self._judge_one(check, run, facts)
        result.message = self.redactor.text(no_surrogates(result.message))
        result.violations = self.redactor.value(clean_value(result.violations))
        return result

    def _judge_one(self, check: Check, run: CaseRun, facts: dict[str, Any]) -> CheckResult:
        case = run.case
        main = run.exchanges.get(case.steps[0].name)
        result = CheckResult(
            check_id=check.id, title=check.title, case_id=case.id, endpoint=case.endpoint,
            capability=case.capability, operation=case.steps[0].operation, model=run.model, auth=run.auth_label,
            stream=case.steps[0].stream, outcome="passed", severity=check.severity, message="", spec=check.spec,
            exchange=main.id if main else None,
        )
        faulted = next((e for e in run.exchanges.values() if e.fault), None)
        missing = next((e for e in run.exchanges.values() if e.missing), None)
        if missing is not None:  # replay asked for an exchange the cassettes lack
            return _set(result, "failed", missing.missing or "")
        if run.not_sent or main is None:
            return _set(result, "skipped", run.not_sent or "not sent")
        if faulted is not None:
            return _set(result, "error", f"no answer to judge: {faulted.fault} ({faulted.method} {faulted.url})")
        if check.needs_timing and main.replayed:
            return _set(result, "skipped", "judged from live arrival times; a replay has none")
        unsupported = _unsupported(case, run, main, self.config.profile, self.config.excuse_claimed_refusals)
        if unsupported and check.id != "models.claimed-endpoint-works":
            return _set(result, "skipped", unsupported)
        ctx = CheckContext(check=check, case=case, model=run.model, profile=self.config.profile,
                           exchanges=run.exchanges, auth_label=run.auth_label, claimed=run.claimed,
                           run_facts=facts)
        try:
            check.func(ctx)
        except ContractViolation as exc:
            result.violations = [v.as_dict() for v in exc.violations]
            expected = self.config.expectations.find(check.id, case.id, run.model,
                                                     [str(v) for v in exc.violations])
            if expected is not None:
                result.expected_reason = expected.cited_reason
                return _set(result, "xfailed", self.redactor.text(str(exc)))
            return _set(result, "failed", self.redactor.text(str(exc)))
        except CheckSkipped as exc:
            return _set(result, "skipped", str(exc))
        except Exception as exc:
            return _set(result, "error", f"internal error in check {check.id}: {type(exc).__name__}: "
                                         f"{self.redactor.text(str(exc))}")
        if self.config.strict_expectations:  # a listed failure that passes: the target changed
            unexpected = self.config.expectations.unexpected_pass(check.id, case.id, run.model)
            if unexpected:
                return _set(result, "failed", unexpected)
        return result

    # -- the phases -------------------------------------------------------------------------

    def prepare(self, planner: Callable[[list[ModelInfo]], list[CaseRun]] | None = None
                ) -> list[tuple[Check, CaseRun]]:
        """Select checks, discover models, plan cases: every (check, case run) pair to judge.
        ``planner``: models -> case runs, instead of ``plan_runs`` (the capability matrix plans its own)."""
        # the check modules are imported while the model list is on its way (the discovery waits on the network)
        with ThreadPoolExecutor(1) as pool:
            selecting = pool.submit(select, self.config.checks, self.config.exclude_checks)
            try:
                if self.library is not None and self.replaying:
                    self.library.check_all()  # a tampered or broken cassette stops the run here, in one line
                self.models = self.scheduler.run_async(discover(self.config, self.scheduler))
            finally:
                self.checks = selecting.result()  # a bad --checks is told first, as when it was selected first
        planned = planner(self.models) if planner else plan_runs(self.models, self.config.keys,
                                                                 case_patterns=self.config.cases)
        # a case no selected check judges is not worth a request, nor one about another kind of gateway;
        # --shard K/N: this job's share only
        from .shard import select as select_shard

        profile = self.config.profile.name
        self.runs = select_shard([r for r in planned if any(c.applies(r.case) for c in self.checks)
                                  and (not r.case.profiles or profile in r.case.profiles)], self.config.shard)
        self.facts = {"models": {m.id: sorted(m.claims) if m.claims is not None else None for m in self.models}}
        return [(check, run) for run in self.runs for check in self.checks if check.applies(run.case)]

    def exchange(self, only: set[int] | None = None) -> None:
        """Send every planned request (once, concurrently, within budget); ``only``: the ids (``id()``)
        of the case runs still selected, e.g. after pytest's ``-k`` deselected the rest."""
        if not self.exchanged and not self.config.dry_run:
            self.exchanged = True
            runs = [r for r in self.runs if only is None or id(r) in only]
            self.scheduler.run_async(self.scheduler.run_all(runs))
            if self.library is not None and not self.replaying:
                from .cassettes import record_runs

                record_runs(self.config, runs, self.redactor)

    def record(self, results: list[CheckResult]) -> RunRecord:
        # the exchanges were redacted as they were read; once more here, after every decoding step
        exchanges = self.redactor.value(clean_value({e.id: e.as_dict() for run in self.runs
                                                     for e in run.exchanges.values()}))
        meta = {
            "target": self.config.target, "base_url": self.redactor.url(self.config.base_url),
            "profile": self.config.profile.name, "expectations": self.config.expectations.source,
            "harness_version": __version__, "started": self.started, "finished": time.time(),
            "requests": self.network_requests, "exchanges": self.sent, "tokens": _tokens(self.runs),
            "concurrency": self.config.concurrency, "max_requests": self.config.max_requests,
            "replay": bool(self.library is not None and self.replaying),
            "record_mode": self.config.record_mode,
        }
        if self.config.headers:
            meta["headers"] = self.config.headers.redacted()
        if self.config.shard:
            meta["shard"] = list(self.config.shard)
        return RunRecord(meta=meta, results=results, exchanges=exchanges,
                         models=[{"id": m.id, "claims": sorted(m.claims) if m.claims is not None else None}
                                 for m in self.models])

    def run(self) -> RunRecord:
        """All three phases, without pytest."""
        pairs = self.prepare()
        self.exchange()
        return self.record([self.judge_one(check, run, self.facts) for check, run in pairs])


def _set(result: CheckResult, outcome: str, message: str) -> CheckResult:
    result.outcome = outcome
    result.message = message
    return result


def _unsupported(case: Case, run: CaseRun, main: Exchange, profile: Profile, excuse_claimed: bool = False
                 ) -> str | None:
    """A clean, documented 4xx to a request a model may legitimately not support: an optional case, or a
    per-model case whose endpoint nothing claims for this model. A model that claims the endpoint has no such
    excuse: its refusal is judged (and fails) under every profile."""
    if not case.steps[0].expect.success or not (run.optional or (excuse_claimed and run.claimed)):
        return None
    if main.no_channel:  # new-api: listed, yet no channel serves it here; a claim says whether that is a fault
        return f"unsupported by model {run.model}: HTTP 503 ({_error_message(main.json)})"
    if main.status is None or not 400 <= main.status < 500 or main.status in (401, 429):
        return None
    from .checks.common import envelope_problems

    if envelope_problems(main, profile.envelopes_for(case.family)):
        return None  # an unclean 4xx is judged, not excused
    message = _error_message(main.json)
    return f"{UNSUPPORTED}{run.model}: HTTP {main.status}" + (f" ({message})" if message else "")


def _error_message(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))[:160]
    return ""


def _tokens(runs: list[CaseRun]) -> dict[str, int]:
    """Tokens the gateway says it spent, summed over every answer that reports usage: the body's usage
    object, or a stream's last report of each count (the usage chunk of a chat stream, ``message_start`` and
    ``message_delta``, ``response.completed``, the last ``usageMetadata``: streamed counts are cumulative)."""
    total = {"input": 0, "output": 0}
    seen: set[str] = set()
    for run in runs:
        for exchange in run.exchanges.values():
            if exchange.id in seen:
                continue
            seen.add(exchange.id)
            payloads = [_event_json(e) for e in exchange.events] if exchange.events else [exchange.json]
            counts: dict[str, int] = {}
            for payload in payloads:
                usage = _usage_of(payload)
                for name, value in (("input", _int(usage, "prompt_tokens", "input_tokens", "promptTokenCount")),
                                    ("output", _int(usage, "completion_tokens", "output_tokens",
                                                    "candidatesTokenCount"))):
                    if value is not None:
                        counts[name] = value
            for name, value in counts.items():
                total[name] += value
    return total


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


def _int(usage: dict[str, Any], *names: str) -> int | None:
    for name in names:
        value = usage.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def run(config: RunConfig, transport_factory: Callable[[Redactor, StreamLimits], Transport] | None = None
        ) -> RunRecord:
    return Engine(config, transport_factory).run()
