"""The capability matrix: for every model, what each capability does, next to what the gateway claims.

Built from a run's results (``results.json``): the verdicts come from ``capabilities``, the claims
from the model list (``supported_endpoint_types``). Written as ``matrix.json`` (schema:
``specs/schemas/report/matrix.json``) and ``matrix.md`` in the report folder.
"""

from __future__ import annotations

from typing import Any

from .capabilities import VERDICTS, capability_verdicts
from .plan import CLAIM_OF_ENDPOINT

MATRIX_VERSION = 1
SYMBOL = {"supported": "✅", "unsupported": "➖", "broken": "❌", "not probed": "·"}


def endpoint_of(capability: str) -> str:
    return capability.split(".", 1)[0]


def build_matrix(record: dict[str, Any]) -> dict[str, Any]:
    """matrix.json from a results.json document."""
    cells = capability_verdicts(record["results"])
    claims = {m["id"]: m.get("claims") for m in record.get("models", [])}
    models = sorted(claims) or sorted({m for m, _ in cells})
    capabilities = sorted({c for _, c in cells})
    out_cells: dict[str, dict[str, Any]] = {}
    disagreements = []
    for model in models:
        row = {}
        for capability in capabilities:
            cell = cells.get((model, capability), {"verdict": "not probed", "failing": [], "cases": []})
            claim_name = CLAIM_OF_ENDPOINT.get(endpoint_of(capability))
            model_claims = claims.get(model)
            claimed = None if model_claims is None or claim_name is None else claim_name in model_claims
            row[capability] = {**cell, "claimed": claimed}
            verdict = cell["verdict"]
            if claimed is True and verdict in ("unsupported", "broken"):
                disagreements.append({"model": model, "capability": capability, "claimed": True,
                                      "verdict": verdict, "note": f"claims {claim_name} but the probe found "
                                      f"{verdict}"})
            elif claimed is False and verdict == "supported":
                disagreements.append({"model": model, "capability": capability, "claimed": False,
                                      "verdict": verdict, "note": f"works but does not claim {claim_name}"})
        out_cells[model] = row
    counts = {v: sum(1 for r in out_cells.values() for c in r.values() if c["verdict"] == v) for v in VERDICTS}
    return {"version": MATRIX_VERSION, "target": record.get("meta", {}).get("target"), "models": models,
            "capabilities": capabilities, "cells": out_cells, "counts": counts, "disagreements": disagreements}


def matrix_markdown(matrix: dict[str, Any]) -> str:
    """A compact table fit for a pull-request comment."""
    caps = matrix["capabilities"]
    lines = [f"**Capability matrix** ({matrix.get('target') or 'target'}): "
             + ", ".join(f"{SYMBOL[v]} {v} {matrix['counts'][v]}" for v in VERDICTS), "",
             "| model | " + " | ".join(caps) + " |", "|---|" + "---|" * len(caps)]
    for model in matrix["models"]:
        row = matrix["cells"][model]
        lines.append(f"| {model} | " + " | ".join(
            SYMBOL[row[c]["verdict"]] + ("*" if row[c]["claimed"] is True and row[c]["verdict"] != "supported"
                                         else "") for c in caps) + " |")
    if matrix["disagreements"]:
        lines += ["", "\\* the gateway's claim (`supported_endpoint_types`) disagrees:"]
        lines += [f"- {d['model']} {d['capability']}: {d['note']}" for d in matrix["disagreements"]]
    return "\n".join(lines) + "\n"
