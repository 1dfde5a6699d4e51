"""What a peer's offline replay must reproduce, shared by peers/*/report.py and peers/new-api/verdict.py:
the outcome counts, every non-passing result and a digest of every (check, case, model) outcome, written to
reports/peers/<peer>-verdict.json beside the peer's report."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "reports" / "peers"
LIVE_ONLY = ("sdk.", "delivery.")  # results a replay cannot reproduce: SDK calls, arrival times


def verdict_key(result: dict[str, Any]) -> str:
    return f"{result['check_id']} {result['case_id']} {result['model'] or '-'}"


def verdict(record: dict[str, Any]) -> dict[str, Any]:
    """What a replay of the recording must reproduce: the counts, every failing result, and a digest of
    every (check, case, model) outcome."""
    rows = sorted((r for r in record["results"] if not r["check_id"].startswith(LIVE_ONLY)), key=verdict_key)
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r["outcome"]] += 1
    every = "\n".join(f"{verdict_key(r)} {r['outcome']}" for r in rows)
    return {"counts": dict(sorted(counts.items())),
            "failing": {verdict_key(r): r["outcome"] for r in rows if r["outcome"] in ("xfailed", "failed", "error")},
            "sha256": hashlib.sha256(every.encode()).hexdigest()}


def write_verdict(peer: str, payload: dict[str, Any]) -> Path:
    """reports/peers/<peer>-verdict.json."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{peer}-verdict.json"
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return path


def write_report(peer: str, lines: list[str], payload: dict[str, Any]) -> None:
    """reports/peers/<peer>.md and its verdict, then say where."""
    OUT.mkdir(parents=True, exist_ok=True)
    page = OUT / f"{peer}.md"
    page.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {page} and {write_verdict(peer, payload)}")
