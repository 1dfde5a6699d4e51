"""Write reports/peers/README.md: the real gateways run here, side by side, capability by capability.

    python peers/compare.py

Each peer's column comes from the offline replay of its committed recording (cassettes/<peer>, judged with
its expectations and profile), so the page is regenerated without any gateway running. new-api's column is
the real new-api (cassettes/new-api, made by peers/new-api/run.sh), judged with the `oimi` profile.
"""

from __future__ import annotations

import sys
from pathlib import Path

from oimi_conformance.engine import Engine
from oimi_conformance.matrix import SYMBOL, build_matrix
from oimi_conformance.profile import load_expectations
from oimi_conformance.run_options import Options
from oimi_conformance.target import Target

ROOT = Path(__file__).resolve().parents[1]
PEERS = {  # name -> (title, how it was run)
    "litellm": ("LiteLLM proxy", "PyPI `litellm[proxy]`, pinned (`peers/litellm/constraints.txt`)"),
    "portkey": ("Portkey AI gateway", "npm `@portkey-ai/gateway` 1.15.2, lock file (`peers/portkey/`)"),
    "new-api": ("new-api (the Oimi software)", "QuantumNous/new-api `116255f0`, built by you, seeded by "
                "`peers/new-api/seed.py`"),
}


def replay(peer: str) -> dict:
    options = Options(record_mode="none", cassette_dir=str(ROOT / "cassettes" / peer), strict_expectations=True)
    target = Target(options)
    config = target.__enter__()
    try:
        return Engine(config).run().as_dict()
    finally:
        target.__exit__()


def cell(matrix: dict, capability: str) -> str:
    """One capability of one peer: how many probed models support it, and the broken ones."""
    verdicts = [row[capability]["verdict"] for row in matrix["cells"].values()]
    probed = [v for v in verdicts if v != "not probed"]
    if not probed:
        return "⬜ not probed"
    parts = [f"{SYMBOL[v]} {probed.count(v)}" for v in ("supported", "unsupported", "broken") if v in probed]
    return " ".join(parts) + f" of {len(probed)}"


def main() -> None:
    records = {peer: replay(peer) for peer in PEERS}
    matrices = {peer: build_matrix(record) for peer, record in records.items()}
    caps = next(iter(matrices.values()))["capabilities"]
    titles = [PEERS[p][0] for p in PEERS]
    lines = [
        "# Gateways side by side",
        "",
        "Real gateways nobody here wrote, each in front of the sandbox gateway on loopback and judged by the whole "
        "harness with profile `openai-compatible` (the official references' rules; an Oimi-only rule is not "
        "counted). Each column is regenerated offline from the peer's committed recording "
        "(`python peers/compare.py`); the details are in each peer's report. A cell counts the probed models: "
        f"{SYMBOL['supported']} supported, {SYMBOL['unsupported']} unsupported (a clean 4xx), "
        f"{SYMBOL['broken']} broken. LiteLLM's model list makes no claims, so its run "
        "probes every model on every capability; Portkey passes the sandbox's `supported_endpoint_types` "
        "through, so its run probes a model only on what it claims (one model per capability). new-api, the "
        "software behind the Oimi API, is judged with the `oimi` profile and its own expectations, on the claims "
        "of its channels (`peers/new-api/seed.py`). Counts of checks "
        "come from the replay, which leaves out what only a live run judges (SDK calls, arrival times).",
        "",
        "| | " + " | ".join(titles) + " |",
        "|---|" + "---|" * len(titles),
        "| installed as | " + " | ".join(PEERS[p][1] for p in PEERS) + " |",
        "| report | " + " | ".join(f"[{p}.md]({p}.md)" for p in PEERS) + " |",
    ]
    counts = {p: r["meta"]["counts"] for p, r in records.items()}
    lines.append("| checks passed / known deviations | " + " | ".join(
        f"{counts[p]['passed']} / {counts[p]['xfailed']}" for p in PEERS) + " |")
    lines.append("| distinct deviations (expectations entries) | " + " | ".join(
        str(len({e.reason for e in load_expectations(p).items})) for p in PEERS) + " |")
    for capability in caps:
        lines.append(f"| `{capability}` | " + " | ".join(cell(matrices[p], capability) for p in PEERS) + " |")
    lines += ["", "## What each gets wrong", ""]
    for peer in PEERS:
        lines += [f"### {PEERS[peer][0]}", ""]
        for reason in dict.fromkeys(e.reason for e in load_expectations(peer).items):
            lines.append(f"- {reason}")
        lines.append("")
    out = ROOT / "reports" / "peers" / "README.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
