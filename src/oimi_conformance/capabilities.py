"""Capability verdicts per model, derived from check results: which model supports what.

A (model, capability) cell is:
  supported    every judged check of its cases passed (or is a known deviation)
  unsupported  the model answered a clean, documented 4xx: the cases were skipped as unsupported
  broken       some check of its cases failed or errored (5xx, invalid body, wrong envelope, timeout...)
  not probed   nothing was sent for it (budget, a key not given, a replay without the exchange)
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

VERDICTS = ("supported", "unsupported", "broken", "not probed")
CLAIM_CHECKS = frozenset({"models.claimed-endpoint-works"})


def capability_verdicts(results: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(model, capability) -> {"verdict", "failing": [check ids], "cases": [case ids]} over per-model results."""
    cells: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        # the claim check judges what the gateway says about a capability, not the capability itself
        if r.get("model") and r["check_id"] not in CLAIM_CHECKS:
            cells[(r["model"], r["capability"])].append(r)
    out = {}
    for key, rows in cells.items():
        # a known deviation (xfailed) is still a broken capability, only an expected one
        failing = sorted({r["check_id"] for r in rows if r["outcome"] in ("failed", "error", "xfailed")})
        passed = any(r["outcome"] == "passed" for r in rows)
        unsupported = any(r["outcome"] == "skipped" and r["message"].startswith("unsupported") for r in rows)
        if failing:
            verdict = "broken"
        elif unsupported and not passed:
            verdict = "unsupported"
        elif passed:
            verdict = "supported"
        else:
            verdict = "not probed"
        out[key] = {"verdict": verdict, "failing": failing, "cases": sorted({r["case_id"] for r in rows})}
    return out
