"""The capability matrix: for every model, what each capability does, next to what the gateway claims.

One cell per (model, capability of ``specs/endpoints.yaml``). A cell's verdict comes from the
results of that capability's one probe case (named in ``specs/endpoints.yaml``) and nothing else, so it
costs at most one request. Its claim is the model's ``supported_endpoint_types`` entry for the probe case's
endpoint (its ``claim`` in ``specs/endpoints.yaml``). Built from a run's ``results.json`` and written beside it as
``matrix.json`` (schema: ``specs/schemas/report/matrix.json``) and ``matrix.md`` (a pull-request comment).

``oimi-conformance matrix`` probes every cell (``plan_matrix``); ``oimi-conformance run`` probes the cells
the gateway claims, and its matrix reports the others ``not probed``.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from .capabilities import VERDICTS, CellVerdict, capability_verdicts, claim_covers
from .cases import Case, probe_cases
from .endpoints import capability_names, claim_of_endpoint, labels, requires
from .exceptions import UsageError
from .plan import CaseRun, ModelInfo, build_request, plan_runs
from .safe_text import markdown, terminal

if TYPE_CHECKING:
    from .engine import Engine

MATRIX_VERSION = 1
SYMBOL = {CellVerdict.SUPPORTED: "✅", CellVerdict.UNSUPPORTED: "➖", CellVerdict.BROKEN: "❌",  # noqa: RUF001
          CellVerdict.NOT_PROBED: "⬜"}
TEXT_SYMBOL = {CellVerdict.SUPPORTED: "ok", CellVerdict.UNSUPPORTED: "--", CellVerdict.BROKEN: "XX",
               CellVerdict.NOT_PROBED: ".."}
LIST_LIMIT = 25  # lines of each list in matrix.md and on the terminal; matrix.json has them all


def probe_plan() -> dict[str, Case]:
    """capability -> its probe case, in matrix column order; every capability must have one."""
    probes = probe_cases()
    columns = capability_names()
    missing = [c for c in columns if c not in probes]
    if missing:
        raise UsageError(f"specs/endpoints.yaml: the probe cases of {missing} are not cases of specs/cases")
    return {c: probes[c] for c in columns}


def claim_of(case: Case) -> str | None:
    return claim_of_endpoint().get(case.endpoint)


# -- planning (oimi-conformance matrix) -----------------------------------------------------------------


def plan_matrix(models: list[ModelInfo], keys: dict[str, str], *, claimed_only: bool = False,
                exhaustive: bool = False, capabilities: list[str] | None = None,
                case_patterns: list[str] | None = None) -> list[CaseRun]:
    """One run of each probe case on every model, whatever the claims: at most one request per cell.

    ``claimed_only``: cells whose endpoint the model does not claim are not sent (``not probed``).
    Unless ``exhaustive``, a feature cell (``requires`` in ``specs/endpoints.yaml``) waits for its endpoint's
    basic cell and is not sent when the model refused that (a clean 4xx). ``capabilities``: only these columns (globs).
    """
    import fnmatch

    probes = probe_plan()
    columns = capability_names()
    chosen = [c for c in columns if not capabilities or any(fnmatch.fnmatchcase(c, p) for p in capabilities)]
    if not chosen:
        raise UsageError(f"--capabilities matches none of {', '.join(columns)}")
    cases = tuple(probes[c] for c in chosen)
    runs = plan_runs(models, keys, cases=cases, case_patterns=case_patterns, every_model=True)
    order = {c: i for i, c in enumerate(columns)}
    runs.sort(key=lambda r: order[r.case.capability])  # column by column: a budget spreads over the models
    by_cell = {(r.model, r.case.capability): r for r in runs}
    required = requires()
    for run in runs:
        if claimed_only and run.claimed is False and not run.not_sent:
            run.not_sent = (f"not probed: the gateway does not claim {claim_of(run.case)} for this model "
                            "(--claimed-only)")
        base = by_cell.get((run.model, required.get(run.case.capability, "")))
        if base is not None and not exhaustive:
            run.after = base
    return runs


def distinct_requests(runs: list[CaseRun], base_url: str, keys: dict[str, str], answered: Any = ()) -> int:
    """How many requests the runs would send, identical requests counted once and those already
    ``answered`` (the discovery's) not at all: an upper bound, as a step after a failed one is not sent."""
    seen: set[Any] = set()
    for run in runs:
        if run.not_sent:
            continue
        for step in run.case.steps:
            if "$from" in repr(step.body):  # built from an earlier answer: never identical to another
                seen.add((run.id, step.name))
                continue
            method, url, headers, body = build_request(run.case, step, run.model, base_url, keys, {})
            seen.add((method, url, tuple(sorted(headers.items())), body))
    return len(seen - set(answered))


def plan_lines(engine: Engine, *, matrix: bool) -> list[str]:
    """The dry-run report of a prepared engine: what was sent (discovery at most), the cells, the requests."""
    runs = engine.runs
    cells = [r for r in runs if r.case.probe]
    models = [m.id for m in engine.models]
    every = capability_names()
    columns = [c for c in every if any(r.case.capability == c for r in cells)] or list(every)
    to_send = [r for r in runs if not r.not_sent]
    if matrix:
        scope = (f"cells: {len(models)} models x {len(columns)} capabilities = {len(models) * len(columns)}; "
                 f"{len(to_send)} to probe (at most one request each), {len(runs) - len(to_send)} not probed")
    else:
        scope = (f"case runs: {len(runs)} on {len(models)} models, {len(to_send)} to send; matrix cells probed "
                 f"by this run: {sum(1 for r in cells if not r.not_sent)} of {len(models) * len(every)} "
                 "(`oimi-conformance matrix` probes them all)")
    reasons = Counter(r.not_sent for r in runs if r.not_sent)
    return [_sent_so_far(engine), scope, _requests_line(engine, to_send),
            *(f"not sent ({n}): {reason}" for reason, n in reasons.most_common(LIST_LIMIT)),
            *_plan_grid(cells, models, columns)]


def _sent_so_far(engine: Engine) -> str:
    if engine.sent == 0:
        return "dry run: nothing was sent" + (" (models from --models: their claims are unknown without "
                                              "GET /v1/models)" if engine.config.models else "")
    return (f"dry run: {engine.sent} request sent, the discovery GET /v1/models ({len(engine.models)} models); "
            "nothing else (pass --models to send nothing at all)")


def _requests_line(engine: Engine, to_send: list[CaseRun]) -> str:
    """How many requests the plan sends at most, and what the budget leaves of them."""
    config = engine.config
    requests = distinct_requests(engine.runs, config.base_url, config.keys, engine.finished)
    line = f"requests: at most {requests}, identical requests counted once"
    conditional = sum(1 for r in to_send if r.after is not None)
    if conditional:
        line += f"; {conditional} of them only if the endpoint's basic request is accepted"
    if config.max_requests is not None:
        left = max(0, config.max_requests - engine.sent)
        line += f"; budget --max-requests {config.max_requests}: {min(left, requests)} can be sent"
        if requests > left:
            line += f", {requests - left} would be reported not probed/skipped"
    return line


def _plan_grid(cells: list[CaseRun], models: list[str], columns: list[str]) -> list[str]:
    """One line per model, one mark per capability: + probed, ~ probed if the basic request is, . not."""
    if not cells:
        return []
    by_cell = {(r.model, r.case.capability): r for r in cells}
    width = max([len(m) for m in models] + [5])
    short = labels()
    lines = ["", "plan: + probed, ~ probed unless the endpoint's basic request is refused, . not probed", "",
             " " * width + " " + " ".join(f"{short[c]:>6}" for c in columns)]
    for model in models:
        runs = [by_cell.get((model, c)) for c in columns]
        marks = ["." if r is None or r.not_sent else "~" if r.after is not None else "+" for r in runs]
        lines.append(f"{model:<{width}} " + " ".join(f"{m:>6}" for m in marks))
    return lines


# -- building (from results.json) -------------------------------------------------------------------------


def build_matrix(record: dict[str, Any]) -> dict[str, Any]:
    """matrix.json from a results.json document (see ``specs/schemas/report/matrix.json``)."""
    probes = probe_plan()
    case_capability = {case.id: cap for cap, case in probes.items()}
    cells = capability_verdicts(record["results"], case_capability)
    meta = record.get("meta", {})
    claims: dict[str, list[str] | None] = {m["id"]: m.get("claims") for m in record.get("models", [])}
    models = list(claims) or sorted({m for m, _ in cells})
    exchange_of = {(r["model"], case_capability[r["case_id"]]): r.get("exchange") for r in record["results"]
                   if r.get("model") and r["case_id"] in case_capability and r.get("exchange")}
    source = meta.get("mode", "run")
    out_cells: dict[str, dict[str, Any]] = {}
    disagreements = []
    for model in models:
        row = out_cells[model] = {}
        for capability, case in probes.items():
            claim = claim_of(case)
            model_claims = claims.get(model)
            claimed = None if model_claims is None or claim is None else claim in model_claims
            cell = cells.get((model, capability)) or _not_probed(claimed, source)
            note = _disagreement(case, capability, claim, claimed, cell)
            if note:
                disagreements.append({"model": model, "capability": capability, "claim": claim, "claimed": claimed,
                                      "verdict": cell["verdict"], "note": note[:300]})
            probed = cell["verdict"] != CellVerdict.NOT_PROBED
            row[capability] = {"verdict": cell["verdict"], "claimed": claimed, "claim": claim,
                               "agrees": None if claimed is None or not probed else note is None,
                               "case": case.id, "cases": cell["cases"], "failing": cell["failing"],
                               "reason": cell["reason"], "exchange": exchange_of.get((model, capability))}
    counts = {v: sum(1 for r in out_cells.values() for c in r.values() if c["verdict"] == v) for v in VERDICTS}
    return {
        "version": MATRIX_VERSION, "source": source, "target": meta.get("target"), "base_url": meta.get("base_url"),
        "generated": meta.get("finished"), "requests": meta.get("requests", 0),
        "tokens": meta.get("tokens", {"input": 0, "output": 0}),
        "capabilities": list(probes),
        "probes": {cap: {"case": case.id, "endpoint": case.endpoint, "claim": claim_of(case),
                         "claim_covers": claim_covers(case), "requires": requires().get(cap)}
                   for cap, case in probes.items()},
        "models": models, "claims": {m: claims.get(m) for m in models},
        "cells": out_cells, "counts": counts, "disagreements": disagreements,
    }


def _not_probed(claimed: bool | None, source: str) -> dict[str, Any]:
    """The cell of a capability no result of the record speaks of, with why."""
    reason = ("not claimed: a run probes only the endpoints the gateway claims for a model "
              "(`oimi-conformance matrix` probes every cell)" if claimed is False and source == "run"
              else "not in this run (--cases, --checks, --capabilities or -k left it out)")
    return {"verdict": CellVerdict.NOT_PROBED, "failing": [], "cases": [], "reason": reason}


def _disagreement(case: Case, capability: str, claim: str | None, claimed: bool | None,
                  cell: dict[str, Any]) -> str | None:
    """How the model's claim (supported_endpoint_types) and the probe's verdict disagree, or None."""
    verdict = cell["verdict"]
    if claimed is True and verdict == CellVerdict.UNSUPPORTED and claim_covers(case):
        status = cell.get("status")
        return f"claims {claim}, but {case.id} was refused" + (f" (HTTP {status})" if status else "")
    if claimed is True and verdict == CellVerdict.BROKEN and claim_covers(case):
        return f"claims {claim}, but {capability} is broken ({', '.join(cell['failing'])})"
    if claimed is False and verdict == CellVerdict.SUPPORTED:
        return f"{capability} works, but {claim} is not claimed"
    return None


# -- rendering ----------------------------------------------------------------------------------------------


def _headline(matrix: dict[str, Any]) -> str:
    tokens = matrix.get("tokens") or {}
    return (f"{len(matrix['models'])} models x {len(matrix['capabilities'])} capabilities, "
            f"{matrix.get('requests', 0)} requests, tokens {tokens.get('input', 0)} in / {tokens.get('output', 0)} out")


def _lists(matrix: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(title, lines): the claim disagreements, the broken cells with their failing checks, the reasons
    cells were not probed."""
    broken = [f"{m} {c}: {', '.join(cell['failing'])}" for m, row in matrix["cells"].items()
              for c, cell in row.items() if cell["verdict"] == CellVerdict.BROKEN]
    not_probed = Counter(_generic(cell["reason"], model) for model, row in matrix["cells"].items()
                         for cell in row.values() if cell["verdict"] == CellVerdict.NOT_PROBED)
    return [
        ("claim disagreements (supported_endpoint_types vs the probe)",
         [f"{d['model']} {d['capability']}: {d['note']}" for d in matrix["disagreements"]]),
        ("broken cells (failing checks)", broken),
        ("not probed (cells: reason)", [f"{n}: {reason}" for reason, n in not_probed.most_common()]),
    ]


def _generic(reason: str, model: str) -> str:
    """A reason with the model and request ids taken out, so one line counts the cells it applies to."""
    return re.sub(r"\s*\(request id: [^)]*\)", "", reason).replace(model, "<model>")


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= LIST_LIMIT:
        return lines
    return [*lines[:LIST_LIMIT], f"... and {len(lines) - LIST_LIMIT} more in matrix.json"]


def matrix_markdown(matrix: dict[str, Any]) -> str:
    """A compact table fit for a pull-request comment: one row per model, one column per capability."""
    caps = matrix["capabilities"]
    legend = " · ".join(f"{SYMBOL[v]} {v} {matrix['counts'][v]}" for v in VERDICTS)
    lines = [f"**Capability matrix** of {matrix.get('target') or 'the target'}: {_headline(matrix)}", "",
             legend + " · `*` the gateway's claim disagrees", "",
             "| model | " + " | ".join(c.replace(".", "<br>") for c in caps) + " |",
             "|---|" + ":-:|" * len(caps)]
    for model in matrix["models"]:
        row = matrix["cells"][model]
        lines.append(f"| {markdown(model)} | " + " | ".join(
            SYMBOL[row[c]["verdict"]] + ("*" if row[c]["agrees"] is False else "") for c in caps) + " |")
    for title, items in _lists(matrix):
        if items:
            lines += ["", f"<details><summary>{len(items)} {title}</summary>", ""]
            lines += [f"- {markdown(item)}" for item in _capped(items)]
            lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def matrix_text(matrix: dict[str, Any]) -> str:
    """The terminal's table: fixed width, ASCII marks."""
    caps = matrix["capabilities"]
    short = labels()
    width = min(60, max([len(terminal(m)) for m in matrix["models"]] + [5]))
    legend = ", ".join(f"{TEXT_SYMBOL[v]} {v} {matrix['counts'][v]}" for v in VERDICTS)
    lines = [f"capability matrix of {matrix.get('target') or 'the target'}: {_headline(matrix)}",
             f"{legend}; * the gateway's claim disagrees", "",
             " " * width + " " + " ".join(f"{short.get(c, c):>6}" for c in caps)]
    for model in matrix["models"]:
        row = matrix["cells"][model]
        marks = [TEXT_SYMBOL[row[c]["verdict"]] + ("*" if row[c]["agrees"] is False else "") for c in caps]
        lines.append(f"{terminal(model):<{width}} " + " ".join(f"{m:>6}" for m in marks))
    for title, items in _lists(matrix):
        if items:
            lines += ["", f"{title}:"] + [f"  {terminal(item)}" for item in _capped(items)]
    return "\n".join(lines)
