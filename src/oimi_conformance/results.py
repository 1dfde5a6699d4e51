"""Check results and the run's record (``results.json``, schema in ``specs/schemas/report/results.json``)."""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

if TYPE_CHECKING:
    from .engine import RunConfig
    from .redact import Redactor

class StrEnumCompat(str, Enum):
    """``enum.StrEnum`` by hand, for Python 3.10 (which has none); tested on every Python against the stdlib's."""

    __hash__ = str.__hash__  # a member and its value are the same dict key

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return str(self.value).__format__(spec)


if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - only Python 3.10 takes this branch
    StrEnum = StrEnumCompat


Severity = Literal["error", "warning"]  # a warning is reported, never fails a run
SEVERITIES: tuple[Severity, ...] = ("error", "warning")


class Outcome(StrEnum):
    """What became of one check on one subject. A str: results.json holds the value, and a row read back
    from it compares equal to the member."""

    PASSED = "passed"
    FAILED = "failed"
    XFAILED = "xfailed"  # failed, and the expectations list the failure (expected_reason says why)
    SKIPPED = "skipped"
    ERROR = "error"  # nothing to judge (no answer), or a bug in the check


OUTCOMES = tuple(Outcome)
BAD = frozenset({Outcome.FAILED, Outcome.ERROR})  # the outcomes that fail a run
RESULTS_VERSION = 1


class Unsupported(TypedDict):
    """Why a skip means "unsupported": ``by`` the model (a clean, documented 4xx to a request it may
    legitimately not serve) or by the gateway (no such route at all); the HTTP status, and what the answer
    said (its error message, redacted; may be empty)."""

    by: Literal["model", "gateway"]
    status: int
    said: str


@dataclass
class CheckResult:
    check_id: str
    title: str
    case_id: str
    endpoint: str
    capability: str
    operation: str
    model: str | None
    auth: str
    stream: bool
    outcome: Outcome
    severity: Severity
    message: str
    spec: str
    exchange: str | None  # id of the main exchange in exchanges/ of the report dir
    violations: list[dict[str, str]] = field(default_factory=list)
    expected_reason: str | None = None  # set on xfailed: why this failure is known
    sdk_version: str | None = None  # SDK checks (area sdk): the official SDK and its version, e.g. "openai 1.99.0"
    unsupported: Unsupported | None = None  # set on a skip that means the model or gateway does not serve it

    def __post_init__(self) -> None:
        self.outcome = Outcome(self.outcome)  # a row read back from results.json holds the plain string

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def record_meta(config: RunConfig, redactor: Redactor, *, started: float, finished: float, requests: int,
                exchanges: int, tokens: dict[str, int], concurrency: int, max_requests: int | None,
                replay: bool) -> dict[str, Any]:
    """The head of every record's ``meta`` (a run's, a capability matrix's, a fuzz session's): the same keys, in
    the same order, the base URL redacted. Each adds its own after it (``record_mode``, ``fuzz``, ...)."""
    from . import __version__

    return {"target": config.target, "base_url": redactor.url(config.base_url), "profile": config.profile.name,
            "expectations": config.expectations.source, "harness_version": __version__, "started": started,
            "finished": finished, "requests": requests, "exchanges": exchanges, "tokens": tokens,
            "concurrency": concurrency, "max_requests": max_requests, "replay": replay}


@dataclass
class RunRecord:
    meta: dict[str, Any]
    results: list[CheckResult]
    exchanges: dict[str, dict[str, Any]]  # exchange id -> redacted exchange (as_dict)
    models: list[dict[str, Any]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(r.outcome for r in self.results)
        return {o: counts.get(o, 0) for o in OUTCOMES}

    @property
    def failed(self) -> bool:
        return any(r.outcome in BAD for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {"version": RESULTS_VERSION, "meta": {**self.meta, "counts": self.counts},
                "models": self.models, "results": [r.as_dict() for r in self.results]}


SHOWN_REFUSALS = 5
# results.json written before results carried ``unsupported`` said it only in the message: read back so
LEGACY_REFUSAL = re.compile(r"unsupported by model .*?: HTTP (\d{3})(?: \((.*)\))?$", re.DOTALL)
LEGACY_ROUTE = re.compile(r"unsupported capability: .*? answered HTTP (\d{3})", re.DOTALL)


def unsupported_of(row: Mapping[str, Any]) -> Unsupported | None:
    """The ``unsupported`` reason of a result row of results.json (a skip only). A row written before the
    field existed has no such key: its message, the only place it said so then, is read instead, so an older
    record keeps its verdicts (``diff`` against an older baseline, ``report`` rebuilt from it)."""
    if row.get("outcome") != Outcome.SKIPPED:
        return None
    if "unsupported" in row:
        found = row["unsupported"]
        return cast(Unsupported, found) if isinstance(found, dict) else None
    message = str(row.get("message", ""))
    legacy = LEGACY_REFUSAL.match(message)
    if legacy:
        return {"by": "model", "status": int(legacy.group(1)), "said": legacy.group(2) or ""}
    route = LEGACY_ROUTE.match(message)
    return {"by": "gateway", "status": int(route.group(1)), "said": ""} if route else None


def unsupported_lines(record: RunRecord) -> list[str]:
    """How many case runs were skipped as unsupported by their model, and why: a gateway that refuses
    everything with a tidy 4xx must not pass unnoticed behind a column of skips. Empty when none was."""
    runs: dict[tuple[str, str | None], CheckResult] = {}
    results = 0
    for r in record.results:
        if r.outcome == Outcome.SKIPPED and r.unsupported is not None and r.unsupported["by"] == "model":
            runs.setdefault((r.case_id, r.model), r)
            results += 1
    if not runs:
        return []
    groups: dict[tuple[str, str, int], list[CheckResult]] = defaultdict(list)
    for r in runs.values():
        assert r.unsupported is not None
        groups[(str(r.model), r.endpoint, r.unsupported["status"])].append(r)
    lines = [f"unsupported: {len(runs)} case run(s) ({results} results) skipped: the model refused them with a clean, "
             "documented 4xx, and nothing claims their endpoint for it (or the case is optional)"]
    ranked = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    for (model, endpoint, status), rows in ranked[:SHOWN_REFUSALS]:
        refusal = rows[0].unsupported
        said = refusal["said"].split(" (request id:", 1)[0] if refusal else ""
        lines.append(f"  {model} {endpoint}: {len(rows)} case(s), HTTP {status}" + (f": {said[:100]}" if said else ""))
    if len(ranked) > SHOWN_REFUSALS:
        lines.append(f"  and {len(ranked) - SHOWN_REFUSALS} more (model, endpoint) pair(s); see results.json")
    return lines


# what the skip reasons say when the run itself left something unsent: its budget, its time (scheduler.py;
# the fuzzer's "no case sent: request budget ..." too)
OWN_LIMITS = ("request budget (--max-requests", "unfinished: the run reached --max-duration")


def _cut_short(result: CheckResult) -> bool:
    return result.outcome == Outcome.SKIPPED and any(limit in result.message for limit in OWN_LIMITS)


def cut_short_lines(record: RunRecord) -> list[str]:
    """How many results were skipped because the run's own budget or time ran out: a partial run is green
    only for what it judged, and says so first. Empty when nothing was cut."""
    reasons = Counter(r.message for r in record.results if _cut_short(r))
    return [f"not judged: {n} result(s) skipped: {reason}" for reason, n in reasons.most_common()]


def judged_nothing(record: RunRecord) -> str | None:
    """Why the run judged nothing at all, or None: every result skipped, and the run's own budget or time
    among the reasons. Such a gate has not passed: it fails with this line instead of ending green behind a
    column of skips. (Skips the selection alone explains, e.g. only timing checks on a replay, stay a pass.)"""
    if not record.results or any(r.outcome != Outcome.SKIPPED for r in record.results):
        return None
    cut = Counter(r.message for r in record.results if _cut_short(r))
    if not cut:
        return None
    reason, n = cut.most_common(1)[0]
    return (f"nothing was judged: all {len(record.results)} results were skipped ({n} of them: {reason}); "
            "a run that judged nothing does not pass")


def summary_table(record: RunRecord) -> str:
    """First how many cases were skipped as unsupported and why, then outcomes by endpoint, one line each."""
    by_endpoint: dict[str, Counter[str]] = defaultdict(Counter)
    for r in record.results:
        by_endpoint[r.endpoint][r.outcome] += 1
    head = f"{'endpoint':<12}" + "".join(f"{o:>9}" for o in OUTCOMES)
    lines = [*cut_short_lines(record), *unsupported_lines(record), head, "-" * len(head)]
    for endpoint in sorted(by_endpoint):
        counts = by_endpoint[endpoint]
        lines.append(f"{endpoint:<12}" + "".join(f"{counts.get(o, 0):>9}" for o in OUTCOMES))
    total = record.counts
    lines.append("-" * len(head))
    lines.append(f"{'total':<12}" + "".join(f"{total[o]:>9}" for o in OUTCOMES))
    return "\n".join(lines)
