"""A run: discover models, plan, exchange (concurrently, within budget), then judge every check.

Plan, then exchange, then judge: each request is sent once and every check that needs its
answer judges the same record. Identical requests planned by different cases are sent once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .cases import load_cases
from .checks import Check, select
from .errors import UsageError
from .exchange import Exchange
from .headers import ExtraHeaders
from .outcomes import OutcomePolicy, judge_case_run, refusal
from .plan import CaseRun, ModelInfo, build_request, never_issued_keys, plan_runs
from .profile import Expectations, Profile
from .redact import Redactor
from .results import CheckResult, RunRecord, record_meta
from .safe_text import clean_value, no_surrogates
from .stream_limits import StreamLimits
from .transport import LiveTransport, Request, Transport
from .usage import tokens_spent


class TargetUnreachable(UsageError):
    """The base URL did not answer at all, or refused the key outright: nothing to judge."""


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
    """Three phases, each callable alone (the pytest plugin calls them at collection, at the first
    test, and per test): ``prepare`` (discover models, plan), ``exchange`` (send), ``judge_one``."""

    def __init__(self, config: RunConfig, transport_factory: Callable[[Redactor, StreamLimits], Transport] | None
                 = None) -> None:
        self.config = config
        self.redactor = Redactor([*config.secrets, *never_issued_keys()], config.headers.secret_names)
        self.limits = StreamLimits(idle_timeout=config.timeout, total_timeout=config.timeout * 4)
        self.transport_factory = transport_factory or self._default_transport
        self.network_requests = 0
        self.library: Any = None
        if config.record_mode is not None:
            from .cassettes import RECORD_MODES, CassetteLibrary

            if config.record_mode not in RECORD_MODES or config.cassette_dir is None:
                raise UsageError(f"record mode must be one of {RECORD_MODES}, with a cassette folder")
            self.library = CassetteLibrary(Path(config.cassette_dir), config.headers.lower_names())
        self.transport: Transport | None = None
        self.semaphore: asyncio.Semaphore | None = None
        self.sent = 0
        self.cache: dict[tuple[Any, ...], asyncio.Task[Exchange]] = {}
        self.finished: dict[tuple[Any, ...], Exchange] = {}
        self.done = 0
        self.total = 0
        self.models: list[ModelInfo] = []
        self.runs: list[CaseRun] = []
        self.checks: list[Check] = []
        self.facts: dict[str, Any] = {}
        self.started = time.time()
        self.clock_started = time.monotonic()
        self.exchanged = False
        self.tasks: dict[int, asyncio.Future[None]] = {}  # id(case run) -> its exchange, for runs sent `after` it

    # -- exchange ---------------------------------------------------------------------------

    def _budget_left(self) -> bool:
        return self.config.max_requests is None or self.sent < self.config.max_requests

    async def _send(self, request: Request) -> Exchange:
        key = (request.method, request.url, tuple(sorted(request.headers.items())), request.body)
        if key in self.finished:  # answered in an earlier phase (e.g. the discovery's model list)
            return self.finished[key]
        task = self.cache.get(key)
        if task is None:
            self.sent += 1
            task = asyncio.ensure_future(self._send_limited(request))
            self.cache[key] = task
        exchange = await task
        self.finished[key] = exchange
        return exchange

    async def _send_limited(self, request: Request) -> Exchange:
        assert self.semaphore is not None and self.transport is not None
        async with self.semaphore:
            return await self.transport.send(request)

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

    async def _with_transport(self, work: Any) -> Any:
        """Run ``work`` with a transport (and semaphore) bound to the current event loop."""
        self.transport = self.transport_factory(self.redactor, self.limits)
        self.semaphore = asyncio.Semaphore(max(1, self.config.concurrency))
        self.cache = {}
        try:
            return await work
        finally:
            self.network_requests += getattr(self.transport, "requests_sent", 0)
            await self.transport.aclose()

    def _blocked(self) -> Any:
        """No network at all while replaying."""
        from .cassettes import network_blocked

        return network_blocked() if self.library is not None and self.replaying else contextlib.nullcontext()

    async def _run_case(self, run: CaseRun) -> None:
        earlier: dict[str, Any] = {}
        if run.after is not None and not run.not_sent:
            base = self.tasks.get(id(run.after))
            if base is not None:
                await base
            if self._refused(run.after):
                status = run.after.exchanges[run.after.case.steps[0].name].status
                run.not_sent = (f"not probed: the model refused {run.after.case.id} (HTTP {status}), "
                                "the basic request of this endpoint")
        for step in run.case.steps:
            if run.not_sent:
                break
            if self._remaining() == 0.0:
                run.not_sent = self._unfinished()
                break
            if not self._budget_left():
                run.not_sent = f"request budget (--max-requests {self.config.max_requests}) exhausted"
                break
            method, url, headers, body = build_request(run.case, step, run.model, self.config.base_url,
                                                       self.config.keys, earlier)
            if step.url_from:
                # a URL an answer handed back (an image on a CDN): fetched bare, never with the run's headers
                run.not_sent = _why_not_follow(url, self.config.follow_urls)
                if run.not_sent:
                    break
            else:
                headers = self.config.headers.applied(headers, f"case {run.case.id}")
            expect_stream = None
            if step.stream:
                expect_stream = "json_array" if step.operation == "streamGenerateContent" and "alt=sse" not in url \
                    else "sse"
            model = "-" if run.model is None else run.model  # "" is a model id too, not "no model"
            request = Request(f"{run.case.id}/{model}/{step.name}", method, url, headers, body, expect_stream,
                              step.retry_429)
            exchange = await self._send(request)
            if step.url_from and exchange.missing:  # a recording made without following URLs
                run.not_sent = f"not judged: the recording has no answer to GET {url} (a replay sends nothing)"
                break
            run.exchanges[step.name] = exchange
            earlier[step.name] = exchange.json
            if exchange.fault:
                break
            if step.expect.success and not 200 <= (exchange.status or 0) < 300:
                break  # later steps build on this answer: a failed step leaves them nothing to send
        self.done += 1
        if self.config.progress and (self.done % 10 == 0 or self.done == self.total):
            self.config.progress(f"exchanged {self.done}/{self.total} cases, {self.sent} requests")

    async def discover(self) -> list[ModelInfo]:
        """GET /v1/models with the main key: the models to probe and the gateway's claims about them."""
        if self.config.dry_run and self.config.models:  # nothing sent: the claims stay unknown
            return [ModelInfo(m, None) for m in self.config.models]
        listing = next((c for c in load_cases() if c.id == "models.list"), None)
        if listing is None:
            raise UsageError("specs/cases has no `models.list` case to discover models with")
        run = CaseRun(listing, None, None, "bearer")
        try:
            await asyncio.wait_for(self._run_case(run), self._remaining())
        except asyncio.TimeoutError:
            raise TargetUnreachable(f"no model list from {self.config.base_url} within --max-duration "
                                    f"{self.config.max_duration:g}s") from None
        exchange = run.exchanges.get("main")
        if exchange is None or exchange.fault:
            fault = exchange.fault if exchange else "not sent"
            # a target that answers badly is judged; one that cannot be reached, or with no models
            # to probe, is a usage problem
            if not self.config.models or (fault or "").startswith("cannot connect"):
                raise TargetUnreachable(f"{self.config.base_url} is unreachable: {fault}")
            return [ModelInfo(m, None) for m in self.config.models]
        found: dict[str, frozenset[str] | None] = {}
        data = exchange.json.get("data") if isinstance(exchange.json, dict) else None
        for item in data if isinstance(data, list) else []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                claims = item.get("supported_endpoint_types")
                # a lone surrogate cannot be sent nor written as UTF-8: it becomes U+FFFD
                found.setdefault(no_surrogates(item["id"]), frozenset(c for c in claims if isinstance(c, str))
                                 if isinstance(claims, list) else None)
        found = fold_compact_aliases(found)
        if self.config.models:
            return [ModelInfo(m, found.get(m)) for m in self.config.models]
        if exchange.status in (401, 403):
            raise TargetUnreachable(f"the key was refused when listing models (HTTP {exchange.status}); "
                                    "pass a valid --api-key, or name models with --models")
        if not found:
            unreadable = exchange.json is None and exchange.body_size > 0  # not JSON, cut, or nested too deep
            raise TargetUnreachable(f"GET /v1/models listed no models (HTTP {exchange.status}"
                                    + (f", a body of {exchange.body_size} bytes that is not JSON the harness can "
                                       "read" if unreadable else "") + "); name models with --models")
        listed = sorted(found.items())
        if self.config.max_models is not None:
            listed = listed[: self.config.max_models]
        elif self.config.models_threshold is not None and len(listed) > self.config.models_threshold:
            # planning grows with models x cases: a gateway listing 200,000 models must not stall the run
            raise UsageError(f"GET /v1/models listed {len(found)} models, more than the "
                             f"{self.config.models_threshold} a run plans unasked: name them with --models, or "
                             "pass --max-models N to probe the first N")
        return [ModelInfo(m, c) for m, c in listed]

    def _remaining(self) -> float | None:
        """Seconds left of --max-duration (None: unbounded)."""
        if self.config.max_duration is None:
            return None
        return max(0.0, self.clock_started + self.config.max_duration - time.monotonic())

    async def exchange_all(self, runs: list[CaseRun]) -> None:
        self.total = len(runs)
        self.tasks = {id(r): asyncio.ensure_future(self._run_case(r)) for r in runs}
        if not self.tasks:
            return
        _, pending = await asyncio.wait(self.tasks.values(), timeout=self._remaining())
        if pending:  # --max-duration reached: stop what is in flight; it is reported unfinished
            stopping = set(pending)
            for _ in range(20):  # asyncio.wait_for (3.11) can swallow a cancel that races a chunk: cancel again
                for task in stopping:
                    task.cancel()
                _, stopping = await asyncio.wait(stopping, timeout=0.25)
                if not stopping:
                    break
            for run in runs:
                if self.tasks[id(run)] in pending and not run.not_sent:
                    run.not_sent = self._unfinished()

    def _unfinished(self) -> str:
        return f"unfinished: the run reached --max-duration {self.config.max_duration:g}s"

    def _refused(self, run: CaseRun) -> str | None:
        """Why ``run`` counts as refused by its model (a clean, documented 4xx), or None."""
        main = run.exchanges.get(run.case.steps[0].name)
        if main is None or main.fault or main.missing:
            return None
        refused = refusal(run.case, run, main, self.config.profile, self.config.excuse_claimed_refusals)
        return refused[0] if refused else None

    # -- judge ------------------------------------------------------------------------------

    @property
    def outcome_policy(self) -> OutcomePolicy:
        return OutcomePolicy(self.config.expectations, self.redactor, self.config.strict_expectations)

    def judge_one(self, check: Check, run: CaseRun, facts: dict[str, Any]) -> CheckResult:
        """One check on one case run, settled and redacted by the one results pipeline (``outcomes.py``)."""
        return judge_case_run(self.outcome_policy, check, run, facts, self.config.profile,
                              self.config.excuse_claimed_refusals)

    # -- the phases -------------------------------------------------------------------------

    def prepare(self, planner: Callable[[list[ModelInfo]], list[CaseRun]] | None = None
                ) -> list[tuple[Check, CaseRun]]:
        """Select checks, discover models, plan cases: every (check, case run) pair to judge.
        ``planner``: models -> case runs, instead of ``plan_runs`` (the capability matrix plans its own)."""
        self.checks = select(self.config.checks, self.config.exclude_checks)
        if self.library is not None and self.replaying:
            self.library.check_all()  # a tampered or broken cassette stops the run here, in one line
        with self._blocked():
            self.models = asyncio.run(self._with_transport(self.discover()))
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
            with self._blocked():
                asyncio.run(self._with_transport(self.exchange_all(runs)))
            if self.library is not None and not self.replaying:
                self.write_cassettes(runs)

    def write_cassettes(self, runs: list[CaseRun]) -> list[Path]:
        """Record every case run that reached the gateway, then let the guard re-read what was written."""
        from .cassettes import cassette_path, guard, write_cassette

        root = Path(self.config.cassette_dir or "cassettes")
        if self.config.record_mode == "all" and root.is_dir():
            for stale in root.rglob("*.yaml"):  # "all" re-records the target: no cassette of a removed case stays
                stale.unlink()
        written, failed = [], []
        for run in runs:
            if not run.exchanges or all(e.replayed for e in run.exchanges.values()):
                continue
            path = cassette_path(root, f"{run.case.id}/{'-' if run.model is None else run.model}/-")
            try:
                write_cassette(path, list(run.exchanges.values()), run.model)
            except OSError as exc:  # one cassette that cannot be written must not stop the others, nor the guard
                failed.append(f"{path}: {exc.strerror or exc}")
            if path.is_file():
                written.append(path)
        meta: dict[str, Any] = {"target": self.config.target, "base_url": self.redactor.url(self.config.base_url),
                "profile": self.config.profile.name, "models": self.config.models,
                "expectations": ",".join(Path(p).stem for p in self.config.expectations.source.split(","))
                if self.config.expectations.source else None,
                "key_roles": sorted(self.config.keys), "harness_version": __version__}
        if self.config.headers:  # replay sends them again, so cassette matching sees the same headers
            meta.update(headers=self.config.headers.redacted(), secret_headers=sorted(self.config.headers.secret_names))
        root.mkdir(parents=True, exist_ok=True)
        (root / "_run.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        guard([*written, root / "_run.json"], self.redactor.secrets)
        if failed:
            raise UsageError(f"could not write {len(failed)} cassette(s): {'; '.join(failed[:3])}")
        return written

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


# new-api routes POST /v1/responses/compact for model X to a model named X-openai-compact
# (middleware/distributor.go: getModelRequest), which operators add to a channel and which is then listed.
COMPACT_SUFFIX = "-openai-compact"


def fold_compact_aliases(found: dict[str, frozenset[str] | None]) -> dict[str, frozenset[str] | None]:
    """The listed models with each ``X-openai-compact`` folded into ``X``: probing the alias itself would
    send ``X-openai-compact-openai-compact`` to compact, and it serves nothing else. ``X`` keeps its own claims
    (an alias whose base is not listed becomes that base, claiming compact)."""
    out = {m: c for m, c in found.items() if not m.endswith(COMPACT_SUFFIX)}
    for alias, claims in found.items():
        base = alias[: -len(COMPACT_SUFFIX)] if alias.endswith(COMPACT_SUFFIX) else None
        if base and base not in out:
            out[base] = claims
    return out
def _why_not_follow(url: str, follow: bool) -> str | None:
    """Why a step that GETs a URL an answer handed back is not sent, or None to send it."""
    if not follow:
        return "not sent: --no-follow-urls (the URL an answer handed back is not fetched)"
    if not url.startswith(("http://", "https://")):
        return f"not sent: the answer handed back no absolute http(s) URL to fetch ({url[:80]!r})"
    return None


def run(config: RunConfig, transport_factory: Callable[[Redactor, StreamLimits], Transport] | None = None
        ) -> RunRecord:
    return Engine(config, transport_factory).run()
