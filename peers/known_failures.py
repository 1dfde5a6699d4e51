"""The "what it gets wrong" section of a peer's report, shared by peers/*/report.py: each known failure
with the sentence of the peer's expectations file, the official reference it rests on, the peer's own issue,
and the results it covers (check @ case [models]); an unexplained failure is listed as UNEXPECTED."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def known_failure_lines(results: list[dict[str, Any]], expectations: Any, issue_label: str) -> list[str]:
    by_reason: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        if r["outcome"] in ("xfailed", "failed", "error"):
            by_reason[r.get("expected_reason") or f"UNEXPECTED: {r['message'][:200]}"].append(r)
    # a result carries the entry's cited reason (reason [source; reference; link]): map it back to its entry
    entries = {e.cited_reason: e for e in expectations.items}
    order = list(entries)
    lines: list[str] = []
    for n, key in enumerate(sorted(by_reason, key=lambda x: order.index(x) if x in order else len(order)), 1):
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for r in by_reason[key]:
            groups[(r["check_id"], r["case_id"])].append(r["model"] or "-")
        where = "; ".join(f"`{c}` @ `{case}` [{', '.join(sorted(models))}]"
                          for (c, case), models in sorted(groups.items()))
        entry = entries.get(key)
        reason = entry.reason if entry else key
        reference, link = (entry.reference, entry.link) if entry else ("", "")
        lines += [f"{n}. {reason}", f"   <br>reference: {reference or '-'}; {issue_label}: {link or 'none known'}",
                  f"   <br>{where}", ""]
    return lines
