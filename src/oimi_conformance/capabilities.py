"""Capability verdicts per model, derived from check results: which model supports what.

A (model, capability) cell is one of ``VERDICTS``, meaning what ``VERDICT_MEANINGS`` says (listed below,
generated from it, as ``verdict_of`` decides it):
{meanings}

The capability matrix has one column per capability of ``specs/endpoints.yaml`` (``endpoints.capability_names``);
its cell is the verdict of that capability's one *probe case* (named there), so each cell costs at most one
request.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .results import BAD, Outcome, StrEnum, unsupported_of


class CellVerdict(StrEnum):
    """What a (model, capability) cell of the matrix is. A str: matrix.json holds the value."""

    SUPPORTED = "supported"
    UNSUPPORTED = "unsupported"
    BROKEN = "broken"
    NOT_PROBED = "not probed"


VERDICT_MEANINGS: dict[CellVerdict, str] = {
    CellVerdict.SUPPORTED:
        "some check of its cases passed, and none failed, errored or failed as a known deviation",
    CellVerdict.UNSUPPORTED:
        "the model refused with a clean, documented 4xx (an optional case, or an endpoint it does not claim): its "
        "cases were skipped as unsupported, and no check passed",
    CellVerdict.BROKEN:
        "some check of its cases failed or errored (5xx, invalid body, wrong envelope, timeout...), or failed as a "
        "known deviation (xfailed: an expected break is still a break)",
    CellVerdict.NOT_PROBED:
        "nothing was judged: not sent (budget, a key not given, a replay without the exchange, a flag)",
}
VERDICTS = tuple(VERDICT_MEANINGS)
__doc__ = (__doc__ or "").replace("{meanings}", "\n".join(f"  {v:<12} {m}" for v, m in VERDICT_MEANINGS.items()))
BROKEN = BAD | {Outcome.XFAILED}  # a known deviation is still a broken capability, only an expected one
CLAIM_CHECKS = frozenset({"models.claimed-endpoint-works"})

# The cases an endpoint claim (``supported_endpoint_types``) promises will work: the endpoint's basic
# request, streamed and not. The same cases ``models.claimed-endpoint-works`` judges. Optional features
# (tools, JSON output, vision, model-specific image options) are not promised by a claim.
CLAIM_TAGS = frozenset({"base", "base-stream"})


def claim_covers(case: Any) -> bool:
    """Whether the endpoint's claim promises that this case works (see ``CLAIM_TAGS``)."""
    return bool(CLAIM_TAGS & set(case.tags))


def capability_verdicts(results: list[dict[str, Any]], cases: dict[str, str] | None = None
                        ) -> dict[tuple[str, str], dict[str, Any]]:
    """(model, capability) -> {"verdict", "failing": [check ids], "cases": [case ids], "reason", "status"} over
    per-model results. ``cases``: only the results of these case ids count, each for the capability it
    maps to (the matrix passes its probe cases); by default every case counts for its own capability."""
    cells: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        # the claim check judges what the gateway says about a capability, not the capability itself
        if not r.get("model") or r["check_id"] in CLAIM_CHECKS:
            continue
        if cases is None:
            cells[(r["model"], r["capability"])].append(r)
        elif r["case_id"] in cases:
            cells[(r["model"], cases[r["case_id"]])].append(r)
    return {key: verdict_of(rows) for key, rows in cells.items()}


def verdict_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The verdict of one cell from the results of its cases, with the failing checks and a reason."""
    # a known deviation (xfailed) is still a broken capability, only an expected one
    bad = [r for r in rows if r["outcome"] in BROKEN]
    failing = sorted({r["check_id"] for r in bad})
    passed = any(r["outcome"] == Outcome.PASSED for r in rows)
    # skipped as unsupported: the model refused with a clean 4xx, or the gateway has no such route
    refusals = [(r, found) for r in rows if (found := unsupported_of(r)) is not None]
    unsupported = [r for r, _ in refusals]
    skipped = [r for r in rows if r["outcome"] == Outcome.SKIPPED]
    status = None  # an unsupported cell's HTTP status, for the matrix's note on a claim the model then refused
    if failing:
        verdict, first = CellVerdict.BROKEN, bad[0]
        reason = f"{first['check_id']}: {first['message']}"
    elif unsupported and not passed:
        verdict, reason = CellVerdict.UNSUPPORTED, unsupported[0]["message"]
        status = refusals[0][1]["status"]
    elif passed:
        verdict, reason = CellVerdict.SUPPORTED, ""
    else:
        verdict, reason = CellVerdict.NOT_PROBED, skipped[0]["message"] if skipped else "no check judged it"
    return {"verdict": verdict, "failing": failing, "cases": sorted({r["case_id"] for r in rows}),
            "reason": reason[:300], "status": status}
