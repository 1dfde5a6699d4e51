"""A run, orchestrated: prepare (select checks, discover models, plan), exchange, judge each check, record.

Plan, then exchange, then judge: each request is sent once and every check that needs its answer judges the
same record. The jobs live apart: ``discovery.py`` finds the models, ``plan.py`` plans the case runs,
``scheduler.py`` sends them (dedupe, budget, concurrency, retries), ``cassettes.py`` records them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checks import Check, CheckContext, select
from .discovery import discover
from .exceptions import UsageError
from .exchange import Exchange
from .headers import ExtraHeaders
from .outcomes import OutcomePolicy, judge_case_run, refusal
from .plan import CaseRun, ModelInfo, never_issued_keys, plan_runs
from .profile import Expectations, Profile
from .redact import Redactor
from .results import CheckResult, RunRecord, record_meta
from .safe_text import clean_value
from .scheduler import Scheduler
from .stream_limits import StreamLimits
from .transport import LiveTransport, Transport
from .usage import tokens_spent


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
        # what settles every result (outcomes.py): built once, not per judged item
        self.outcome_policy = OutcomePolicy(config.expectations, self.redactor, config.strict_expectations)
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
        self.checks: list[Check[CheckContext]] = []
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
        refused = refusal(run.case, run, main, self.config.profile, self.config.excuse_claimed_refusals)
        return refused[0] if refused else None

    # -- judge ------------------------------------------------------------------------------

    def judge_one(self, check: Check[CheckContext], run: CaseRun, facts: dict[str, Any]) -> CheckResult:
        """One check on one case run, settled and redacted by the one results pipeline (``outcomes.py``)."""
        return judge_case_run(self.outcome_policy, check, run, facts, self.config.profile,
                              self.config.excuse_claimed_refusals)

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
        meta = record_meta(self.config, self.redactor, started=self.started, finished=time.time(),
                           requests=self.network_requests, exchanges=self.sent,
                           tokens=tokens_spent(e for run in self.runs for e in run.exchanges.values()),
                           concurrency=self.config.concurrency, max_requests=self.config.max_requests,
                           replay=bool(self.library is not None and self.replaying))
        meta["record_mode"] = self.config.record_mode
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


def run(config: RunConfig, transport_factory: Callable[[Redactor, StreamLimits], Transport] | None = None
        ) -> RunRecord:
    return Engine(config, transport_factory).run()
