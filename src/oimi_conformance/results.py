"""Check results and the run's record (``results.json``, schema in ``specs/schemas/report/results.json``)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

OUTCOMES = ("passed", "failed", "xfailed", "skipped", "error")
RESULTS_VERSION = 1


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
    outcome: str
    severity: str
    message: str
    spec: str
    exchange: str | None  # id of the main exchange in exchanges/ of the report dir
    violations: list[dict[str, str]] = field(default_factory=list)
    expected_reason: str | None = None  # set on xfailed: why this failure is known
    sdk_version: str | None = None  # SDK checks (area sdk): the official SDK and its version, e.g. "openai 1.99.0"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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
        return any(r.outcome in ("failed", "error") for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {"version": RESULTS_VERSION, "meta": {**self.meta, "counts": self.counts},
                "models": self.models, "results": [r.as_dict() for r in self.results]}


UNSUPPORTED = "unsupported by model "  # the engine's skip message for a clean 4xx nothing claims
SHOWN_REFUSALS = 5


def unsupported_lines(record: RunRecord) -> list[str]:
    """How many case runs were skipped as unsupported, and why: a gateway that refuses everything with a tidy
    4xx must not pass unnoticed behind a column of skips. Empty when none was."""
    runs: dict[tuple[str, str | None], CheckResult] = {}
    results = 0
    for r in record.results:
        if r.outcome == "skipped" and r.message.startswith(UNSUPPORTED):
            runs.setdefault((r.case_id, r.model), r)
            results += 1
    if not runs:
        return []
    groups: dict[tuple[str, str, str], list[CheckResult]] = defaultdict(list)
    for r in runs.values():
        status = r.message.split(": ", 1)[-1].split(" (", 1)[0]  # "HTTP 400"
        groups[(str(r.model), r.endpoint, status)].append(r)
    lines = [f"unsupported: {len(runs)} case run(s) ({results} results) skipped: the model refused them with a clean, "
             "documented 4xx, and nothing claims their endpoint for it (or the case is optional)"]
    ranked = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    for (model, endpoint, status), rows in ranked[:SHOWN_REFUSALS]:
        said = rows[0].message.split(" (", 1)[1].rsplit(")", 1)[0] if " (" in rows[0].message else ""
        said = said.split(" (request id:", 1)[0]
        lines.append(f"  {model} {endpoint}: {len(rows)} case(s), {status}" + (f": {said[:100]}" if said else ""))
    if len(ranked) > SHOWN_REFUSALS:
        lines.append(f"  and {len(ranked) - SHOWN_REFUSALS} more (model, endpoint) pair(s); see results.json")
    return lines


def summary_table(record: RunRecord) -> str:
    """First how many cases were skipped as unsupported and why, then outcomes by endpoint, one line each."""
    by_endpoint: dict[str, Counter[str]] = defaultdict(Counter)
    for r in record.results:
        by_endpoint[r.endpoint][r.outcome] += 1
    head = f"{'endpoint':<12}" + "".join(f"{o:>9}" for o in OUTCOMES)
    lines = [*unsupported_lines(record), head, "-" * len(head)]
    for endpoint in sorted(by_endpoint):
        counts = by_endpoint[endpoint]
        lines.append(f"{endpoint:<12}" + "".join(f"{counts.get(o, 0):>9}" for o in OUTCOMES))
    total = record.counts
    lines.append("-" * len(head))
    lines.append(f"{'total':<12}" + "".join(f"{total[o]:>9}" for o in OUTCOMES))
    return "\n".join(lines)
