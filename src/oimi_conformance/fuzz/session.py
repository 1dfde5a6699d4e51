"""One fuzz run against one target: start it (or the embedded sandbox), pick a model per operation, load
``specs/openapi.yaml`` into schemathesis with the run's configuration, then send every generated case
within the request budget, judge it with the fuzz checks and keep, per finding, the smallest request that
shows it. ``record()`` turns that into a ``results.json`` record like any other run's.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..diagnosis import curl
from ..exceptions import HarnessError, UsageError
from ..exchange import Exchange
from ..outcomes import OutcomePolicy, start
from ..redact import Redactor
from ..reporters import DATA_REPORTERS, write_reports
from ..results import CheckResult, RunRecord, record_meta
from ..specdir import spec_root
from ..usage import add_body
from .checks import (
    CANARY_KEY,
    CHECK_IDS,
    TITLES,
    FuzzContext,
    FuzzFailure,
    describe_negation,
    is_negative,
    reset_context,
    use_context,
)
from .operations import SCHEME_STYLE, claim_of, dropped_in_positive, endpoint_of, spec_pointer, stream_flag
from .settings import FuzzOptions, FuzzTarget, schemathesis_config

if TYPE_CHECKING:
    from schemathesis import Case, Response

    from ..run_options import Options


def _body_bytes(body: Any) -> bytes | None:
    """A prepared request's body as bytes (schemathesis sends bytes or str; anything else is not shown)."""
    if isinstance(body, str):
        return body.encode("utf-8")
    return body if isinstance(body, bytes) else None


class BudgetExhausted(HarnessError):
    pass


class FuzzFinding(AssertionError):
    """Raised from the test body for a case that broke a fuzz check, so Hypothesis shrinks it. One class per
    set of (check, title): Hypothesis tells distinct bugs apart by exception type and shrinks each."""


@cache
def _finding_type(key: tuple[tuple[str, str], ...]) -> type[FuzzFinding]:
    name = "Fuzz_" + "__".join(f"{c}_{t}" for c, t in key)
    return type("".join(ch if ch.isalnum() else "_" for ch in name)[:120], (FuzzFinding,), {})


@dataclass
class Finding:
    check_id: str
    operation: str
    title: str
    message: str
    violations: list[dict[str, str]]
    exchange: Exchange
    size: int
    model: str | None
    stream: bool


@dataclass
class OperationInfo:
    operation_id: str
    label: str
    path: str
    method: str
    style: str  # credential style schemathesis applies
    cases: int = 0


@dataclass
class FuzzSession:
    target_options: Options
    options: FuzzOptions
    started: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        from ..target import Target as StartedTarget

        self._target = StartedTarget(self.target_options)
        self.run_config: Any = None
        self.schema: Any = None
        self.redactor = Redactor()
        self.context: FuzzContext | None = None
        self.operations: dict[str, OperationInfo] = {}  # operationId -> info (selected operations)
        self.by_label: dict[str, str] = {}
        self.models: dict[str, str] = {}
        self.listed: list[dict[str, Any]] = []
        self.findings: dict[tuple[str, str, str], Finding] = {}
        self.sent = 0
        self.errors: dict[str, str] = {}  # operationId -> transport fault
        self.exhausted = False
        self.first_case: float | None = None
        self.last_case: float | None = None
        self.finished: float | None = None
        self.tokens = {"input": 0, "output": 0}
        self.prepared = False
        self._restore_constants: Any = None

    # -- preparing ------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Start the target, pick models and load the schema; a usage problem is a UsageError, in one line."""
        if self.prepared:
            return
        import schemathesis
        from schemathesis.config import ConfigError

        config = self._target.__enter__()
        self.run_config = config
        key = config.keys.get("main")
        if not key:
            raise UsageError("no API key: pass --api-key or set OIMI_API_KEY")
        self.redactor = Redactor(config.secrets, config.headers.secret_names)
        self.context = FuzzContext(profile=config.profile, secrets=tuple(sorted(set(config.secrets))),
                                   spend=self._try_spend)
        spec = spec_root() / "openapi.yaml"
        raw = _operations_of(spec)
        chosen = [op for op in raw if self.options.selects(op)]
        if not chosen:
            raise UsageError(f"--operations {','.join(self.options.operations or [])} matches no operation of "
                             f"specs/openapi.yaml ({', '.join(sorted(raw))})")
        self.models = self._pick_models(config, chosen)
        try:
            st_config = schemathesis.Config.from_dict(
                schemathesis_config(FuzzTarget(config.base_url, key, self.models, dict(config.headers.values)),
                                    self.options, list(raw)))
        except ConfigError as exc:
            raise UsageError(f"schemathesis configuration: {self.redactor.text(str(exc))}") from None
        self.schema = schemathesis.openapi.from_path(str(spec), config=st_config)
        for op in chosen:
            path, method, security = raw[op]
            label = f"{method.upper()} {path}"
            style = SCHEME_STYLE.get(next(iter(security[0])), "bearer") if security else "none"
            self.operations[op] = OperationInfo(op, label, path, method, style)
            self.by_label[label] = op
        if self.options.positive:
            self._register_positive_hooks()
        self._restore_constants = _without_local_constants()
        self.prepared = True

    def _pick_models(self, config: Any, chosen: list[str]) -> dict[str, str]:
        """A model per operation: one the gateway claims the endpoint for, else the first listed."""
        claim = claim_of()
        wanted = [op for op in chosen if op in claim]
        if not wanted:
            return {}
        listed: list[tuple[str, frozenset[str] | None]] = (
            [(m, None) for m in config.models] if config.models else self._discover(config))
        self.listed = [{"id": m, "claims": sorted(c) if c is not None else None} for m, c in listed]
        models = {}
        for op in wanted:
            # the claiming model that claims the most endpoints: a broad model lets more cases reach validation
            claimed = sorted((m for m, c in listed if c is not None and claim[op] in c),
                             key=lambda m: -len(dict(listed)[m] or ()))
            models[op] = (claimed or [m for m, _ in listed])[0]
        return models

    def _discover(self, config: Any) -> list[tuple[str, frozenset[str] | None]]:
        """The harness's one discovery (``discovery.py``): the same GET /v1/models as a run's, read alike."""
        from ..discovery import discover_live

        self._spend()
        return [(m.id, m.claims) for m in discover_live(config, self.redactor)]

    def _register_positive_hooks(self) -> None:
        from hypothesis import strategies as st

        dropped, streamable = dropped_in_positive(), stream_flag()

        def map_case(context: Any, case: Case) -> Case:
            op = str(case.operation.definition.raw.get("operationId"))
            if isinstance(case.body, dict):
                for name in dropped.get(op, ()):
                    case.body.pop(name, None)
            return case

        def flatmap_case(context: Any, case: Case) -> Any:
            op = str(case.operation.definition.raw.get("operationId"))
            body = case.body
            if op not in streamable or not isinstance(body, dict):
                return st.just(case)

            def streamed(flag: bool) -> Case:
                if flag:
                    body["stream"] = True
                return case

            return st.booleans().map(streamed)

        self.schema.hooks.register_hook_with_name(map_case, "map_case")
        self.schema.hooks.register_hook_with_name(flatmap_case, "flatmap_case")

    # -- running --------------------------------------------------------------------------------------

    def _spend(self) -> None:
        budget = self.options.max_requests
        if budget is not None and self.sent >= budget:
            self.exhausted = True
            raise BudgetExhausted(f"request budget (--max-requests {budget}) exhausted")
        self.sent += 1

    def _try_spend(self) -> bool:
        try:
            self._spend()
        except BudgetExhausted:
            return False
        return True

    def exercise(self, case: Case) -> None:
        """Send one generated case (within the budget), judge it, and raise a FuzzFinding when a check broke."""
        import requests
        from schemathesis.core.failures import FailureGroup

        op = str(case.operation.definition.raw.get("operationId"))
        self._spend()
        info = self.operations.get(op)
        if info is not None:
            info.cases += 1
        now = time.time()
        self.first_case = self.first_case or now
        try:
            response = case.call()
        except requests.RequestException as exc:
            self.last_case = time.time()
            message = self.redactor.text(f"{type(exc).__name__}: {exc}")
            self.errors.setdefault(op, message)
            raise ConnectionError(f"no answer to judge: {message}") from None
        self.last_case = time.time()
        self._count_tokens(response)
        assert self.context is not None
        token = use_context(self.context)
        try:
            case.validate_response(response, checks=self._check_functions())
        except FailureGroup as group:
            failures = [f for f in group.exceptions if isinstance(f, FuzzFailure)]
            if not failures:
                raise
            diagnosis = self._collect(op, case, response, failures)
            key = tuple(sorted((f.check_id, f.title) for f in failures))
            raise _finding_type(key)(diagnosis) from None
        finally:
            reset_context(token)

    def _check_functions(self) -> list[Any]:
        from . import checks

        return [getattr(checks, name) for name in self.options.checks]

    def _collect(self, op: str, case: Case, response: Response, failures: list[FuzzFailure]) -> str:
        own = self._exchange(op, response)
        size = len(str(response.request.url)) + len(_body_bytes(response.request.body) or b"")
        model = self._model_of(op, case)
        stream = bool(isinstance(case.body, dict) and case.body.get("stream") is True) or \
            op == "streamGenerateContent"
        lines = []
        for failure in failures:
            exchange = self._exchange(op, failure.evidence) if failure.evidence is not None else own
            found = Finding(failure.check_id, op, failure.title, self.redactor.text(failure.message),
                            [v.as_dict() for v in failure.violations], exchange, size, model, stream)
            key = (failure.check_id, op, failure.title)
            kept = self.findings.get(key)
            if kept is None or size < kept.size:
                found.exchange = replace(exchange, id=_exchange_id(failure.check_id, op))
                self.findings[key] = found
            lines.append(f"{failure.check_id}: {failure.title}\n  {found.message}")
        if is_negative(case):
            lines.append(f"  invalid because: {self.redactor.text(describe_negation(case))}")
        lines.append("  reproduce (put your key back where it says REDACTED):")
        lines.append("    " + curl(own.as_dict()).replace("\n", "\n    "))
        return "\n".join(lines)

    def _exchange(self, op: str, response: Response) -> Exchange:
        request = response.request
        body = _body_bytes(request.body)
        redactor = self.redactor
        presented = [p for p in _presented(response) if CANARY_KEY not in p]  # the canary is no secret
        if presented:
            redactor = Redactor([*self.redactor.secrets, *presented], self.redactor.secret_headers)
        leaks = redactor.leaks(response.content or b"")
        headers = {k: v.decode("latin-1") if isinstance(v, bytes) else v for k, v in (request.headers or {}).items()
                   if k.lower() != "x-schemathesis-testcaseid"}
        shown = redactor.headers(headers)
        shown.update({k.lower(): v for k, v in headers.items() if CANARY_KEY in str(v)})  # the wrong-key probe
        url = str(request.url)
        return Exchange(
            id=f"fuzz.{op}", method=str(request.method), url=url if CANARY_KEY in url else redactor.url(url),
            request_headers=shown,
            request_body=redactor.data(body) if body is not None else None,
            status=response.status_code,
            response_headers=redactor.headers({k: v[0] for k, v in response.headers.items() if v}),
            body=redactor.data(response.content or b""), elapsed=response.elapsed, key_echoes=leaks,
        )

    def _model_of(self, op: str, case: Case) -> str | None:
        value = None
        if isinstance(case.body, dict):
            value = case.body.get("model")
        if value is None and case.path_parameters:
            value = case.path_parameters.get("model")
        return self.redactor.text(value) if isinstance(value, str) else self.models.get(op)

    def _count_tokens(self, response: Response) -> None:
        if 200 <= response.status_code < 300:
            add_body(self.tokens, response.content or b"")

    def findings_of(self, op: str) -> list[Finding]:
        return [f for (_, o, _), f in sorted(self.findings.items()) if o == op]

    # -- results --------------------------------------------------------------------------------------

    @property
    def cases(self) -> int:
        return sum(info.cases for info in self.operations.values())

    @property
    def cases_per_second(self) -> float:
        if not self.first_case or not self.last_case or self.last_case <= self.first_case:
            return 0.0
        return self.cases / (self.last_case - self.first_case)

    def results(self) -> list[CheckResult]:
        """One result per (operation, fuzz check), settled by the one results pipeline (``outcomes.py``)."""
        assert self.run_config is not None and self.context is not None
        config = self.run_config
        policy = OutcomePolicy(config.expectations, self.redactor, bool(config.strict_expectations))
        out = []
        for op, info in self.operations.items():
            for name in self.options.checks:
                check_id = CHECK_IDS[name]
                result = start(check_id=check_id, title=TITLES[check_id], severity="error",
                               spec=spec_pointer(info.path, info.method), case_id=f"fuzz.{op}",
                               endpoint=endpoint_of()[op], capability=f"fuzz.{self.options.mode}", operation=op,
                               model=self.models.get(op), auth=info.style, stream=op == "streamGenerateContent")
                found = [f for (c, o, _), f in sorted(self.findings.items()) if c == check_id and o == op]
                judged = self.context.counts.get((check_id, op), 0)
                if found:
                    first = found[0]
                    more = f" (+{len(found) - 1} more distinct: {'; '.join(f.title for f in found[1:])})" \
                        if len(found) > 1 else ""
                    # the model stays the operation's (a stable key for `diff`); the exchange shows what was sent
                    result.stream, result.exchange = first.stream, first.exchange.id
                    violations = [{"rule": f.title, "message": f.message, "pointer": "", "spec": result.spec}
                                  for f in found]
                    violations += [v for f in found for v in f.violations]
                    out.append(policy.violated(result, f"{first.title}: {first.message}{more}", violations))
                elif op in self.errors and not judged:
                    out.append(policy.no_answer(result, self.errors[op]))
                elif judged:
                    out.append(policy.passed(result, f"{judged} generated case(s) judged, none broke the rule "
                                                     f"(seed {self.options.seed})"))
                elif not info.cases:
                    out.append(policy.skipped(result, "no case sent: " + (
                        f"request budget (--max-requests {self.options.max_requests}) exhausted"
                        if self.exhausted else f"schemathesis generated no {self.options.mode} case for it "
                        "(nothing in this operation to make invalid)" if not self.options.positive
                        else "schemathesis generated none")))
                else:
                    out.append(policy.skipped(
                        result, f"nothing to judge in {info.cases} case(s) (no answer this check applies to)"))
        return out

    def record(self) -> RunRecord:
        config = self.run_config
        exchanges = {f.exchange.id: f.exchange.as_dict() for f in self.findings.values()}
        for entry in exchanges.values():
            entry["curl"] = curl(entry)
        meta = record_meta(config, self.redactor, started=self.started, finished=self.finished or time.time(),
                           requests=self.sent, exchanges=self.cases, tokens=dict(self.tokens), concurrency=1,
                           max_requests=self.options.max_requests, replay=False)
        meta["fuzz"] = {"mode": self.options.mode, "seed": self.options.seed, "max_examples": self.options.max_examples,
                        "shrink": self.options.shrink, "coverage_phase": self.options.coverage, "cases": self.cases,
                        "cases_per_second": round(self.cases_per_second, 1), "budget_exhausted": self.exhausted,
                        "models": dict(self.models)}
        return RunRecord(meta=meta, results=self.results(), exchanges=exchanges, models=list(self.listed))

    def write(self, report_dir: Path, merge_since: float | None = None) -> Path:
        """Write results.json and exchanges.json; with ``merge_since``, add to the ones another suite wrote in
        this session (``pytest suites suites/fuzz``) instead of replacing them."""
        record = self.record()
        path = report_dir / "results.json"
        if merge_since is not None and path.is_file() and path.stat().st_mtime >= merge_since:
            try:
                earlier = json.loads(path.read_text(encoding="utf-8"))
                earlier_exchanges = json.loads((report_dir / "exchanges.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                earlier = None
            if earlier is not None:
                from ..results import CheckResult as _Result

                record.results = [_Result(**r) for r in earlier.get("results", [])] + record.results
                record.exchanges = {**earlier_exchanges, **record.exchanges}
                record.meta = {**earlier.get("meta", {}), "fuzz": record.meta["fuzz"],
                               "requests": earlier.get("meta", {}).get("requests", 0) + self.sent}
                record.meta.pop("counts", None)
                record.models = earlier.get("models") or record.models
        written = write_reports(record, report_dir, DATA_REPORTERS)["results"]
        guard_keys(report_dir, list(self.run_config.secrets) if self.run_config else [])
        return written

    def summary(self, results: list[CheckResult]) -> str:
        """One line of the session; ``results``: its ``results()``, which the caller judges too."""
        counts: dict[str, int] = {}
        for r in results:
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
        return (f"fuzz ({self.options.mode}, seed {self.options.seed}, max {self.options.max_examples} examples per "
                f"operation): {self.cases} cases judged on {len(self.operations)} operation(s) at "
                f"{self.cases_per_second:.0f} cases/s, {self.sent} requests"
                + (f" (budget {self.options.max_requests} exhausted)" if self.exhausted else "")
                + f"; {len(self.findings)} finding(s); "
                + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())))

    def close(self) -> None:
        self.finished = self.finished or time.time()
        restore, self._restore_constants = self._restore_constants, None
        if restore is not None:
            restore()
        self._target.__exit__()


def _without_local_constants() -> Any:
    """Hypothesis mixes string and number constants it finds in the local source code (this harness, the
    sandbox's keys included) into generated values, and the set grows as modules are imported: the same seed
    would not give the same cases in another process. Values come from the spec and the seed alone while a
    fuzz session runs; the returned function restores it."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a Hypothesis without the feature
        return lambda: None
    original = getattr(providers, "_get_local_constants", None)
    if original is None:  # pragma: no cover
        return lambda: None
    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE.cache.clear()

    def restore() -> None:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()

    return restore


def _exchange_id(check_id: str, op: str) -> str:
    return f"{check_id}@fuzz.{op}"


def _presented(response: Response) -> list[str]:
    from .checks import presented_credentials

    return [p for p in presented_credentials(response) if len(p) >= 4]


def guard_keys(report_dir: Path, keys: list[str]) -> None:
    """Re-read what was written: a key of the run in a report is a harness bug, never shipped."""
    redactor = Redactor(keys)
    for name in ("results.json", "exchanges.json"):
        path = report_dir / name
        if path.is_file() and redactor.leaks(path.read_bytes()):
            path.unlink()
            raise HarnessError(f"{path} held a key of the run and was deleted; please report this bug")


def _operations_of(spec: Path) -> dict[str, tuple[str, str, list[dict[str, Any]]]]:
    """operationId -> (path, method, security alternatives), in the document's order."""
    import yaml

    document = yaml.safe_load(spec.read_text(encoding="utf-8"))
    default = document.get("security") or []
    found = {}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                found[operation["operationId"]] = (path, method, operation.get("security", default))
    return found
