"""Comparing two runs: what regressed, what was fixed, which capabilities and models came and went.

Exit 1 when anything regressed (a check newly failing, a capability lost, a model vanished), so CI
can gate a gateway or an application release on the last known-good report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .capabilities import CellVerdict, capability_verdicts
from .exceptions import UsageError
from .results import BAD, Outcome

KNOWN_BAD = BAD | {Outcome.XFAILED}  # a failure that was already known is not new


def load_results(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise UsageError(f"cannot read results from {path}: {exc}") from None
    if not isinstance(data, dict) or "results" not in data:
        raise UsageError(f"{path} is not a results.json of oimi-conformance")
    _check_shape(data, path)
    return data


_RESULT_FIELDS = {"check_id": str, "case_id": str, "outcome": str}


def _check_shape(data: dict[str, Any], path: str | Path) -> None:
    """What the comparison reads, checked, so a malformed file is one line, not a KeyError."""
    if not isinstance(data["results"], list):
        raise UsageError(f"{path}: `results` must be a list")
    for n, row in enumerate(data["results"]):
        if not isinstance(row, dict):
            raise UsageError(f"{path}: results[{n}] must be an object")
        for name, kind in _RESULT_FIELDS.items():
            if not isinstance(row.get(name), kind):
                raise UsageError(f"{path}: results[{n}] lacks the string `{name}`")
        for name in ("model", "capability", "message"):
            if row.get(name) is not None and not isinstance(row[name], str):
                raise UsageError(f"{path}: results[{n}].{name} must be a string")
        row.setdefault("message", "")
        row.setdefault("capability", "")
    models = data.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, dict) and isinstance(m.get("id"), str) for m in models):
        raise UsageError(f"{path}: `models` must be a list of objects with a string `id`")


@dataclass
class RunDiff:
    newly_failing: list[dict[str, Any]] = field(default_factory=list)
    newly_passing: list[dict[str, Any]] = field(default_factory=list)
    capabilities_lost: list[dict[str, Any]] = field(default_factory=list)
    capabilities_gained: list[dict[str, Any]] = field(default_factory=list)
    models_new: list[str] = field(default_factory=list)
    models_vanished: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        return bool(self.newly_failing or self.capabilities_lost or self.models_vanished)


def _key(r: dict[str, Any]) -> tuple[str, str, str]:
    return r["check_id"], r["case_id"], r.get("model") or ""


def diff_runs(old: dict[str, Any], new: dict[str, Any]) -> RunDiff:
    out = RunDiff()
    before = {_key(r): r for r in old["results"]}
    for key, r in sorted({_key(r): r for r in new["results"]}.items()):
        was = before.get(key)
        row = {"check_id": key[0], "case_id": key[1], "model": key[2] or None,
               "was": was["outcome"] if was else None, "now": r["outcome"], "message": r["message"]}
        if r["outcome"] in BAD and (was is None or was["outcome"] not in KNOWN_BAD):
            out.newly_failing.append(row)
        elif was is not None and was["outcome"] in BAD and r["outcome"] == Outcome.PASSED:
            out.newly_passing.append(row)
    old_caps, new_caps = capability_verdicts(old["results"]), capability_verdicts(new["results"])
    for (model, capability), cell in sorted(new_caps.items()):
        prior = old_caps.get((model, capability))
        if prior is None:
            continue
        row = {"model": model, "capability": capability, "was": prior["verdict"], "now": cell["verdict"],
               "failing": cell["failing"]}
        if prior["verdict"] == CellVerdict.SUPPORTED and cell["verdict"] != CellVerdict.SUPPORTED:
            out.capabilities_lost.append(row)
        elif prior["verdict"] != CellVerdict.SUPPORTED and cell["verdict"] == CellVerdict.SUPPORTED:
            out.capabilities_gained.append(row)
    old_models = {m["id"] for m in old.get("models", [])}
    new_models = {m["id"] for m in new.get("models", [])}
    out.models_new, out.models_vanished = sorted(new_models - old_models), sorted(old_models - new_models)
    return out


def format_diff(d: RunDiff, fmt: str) -> str:
    if fmt == "json":
        return json.dumps({**asdict(d), "regressed": d.regressed}, indent=1)
    md = fmt == "markdown"
    lines = [("## " if md else "") + ("Regressed" if d.regressed else "No regression")]
    sections: list[tuple[str, list[Any], Callable[[Any], str]]] = [
        ("Newly failing checks", d.newly_failing, lambda r: f"{r['check_id']} on {r['case_id']}"
         + (f" [{r['model']}]" if r["model"] else "") + f" ({r['was'] or 'new'} -> {r['now']}): {r['message']}"),
        ("Newly passing checks", d.newly_passing, lambda r: f"{r['check_id']} on {r['case_id']}"
         + (f" [{r['model']}]" if r["model"] else "")),
        ("Capabilities lost", d.capabilities_lost, lambda r: f"{r['model']}: {r['capability']} {r['was']} -> "
         f"{r['now']}" + (f" ({', '.join(r['failing'])})" if r["failing"] else "")),
        ("Capabilities gained", d.capabilities_gained, lambda r: f"{r['model']}: {r['capability']} {r['was']} -> "
         f"{r['now']}"),
        ("New models", d.models_new, str),
        ("Vanished models", d.models_vanished, str),
    ]
    for title, rows, fmt_row in sections:
        if not rows:
            continue
        lines += ["", ("### " if md else "") + f"{title} ({len(rows)})"]
        lines += [("- " if md else "  ") + fmt_row(r) for r in rows]
    return "\n".join(lines)
