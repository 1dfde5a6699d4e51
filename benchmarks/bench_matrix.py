"""The capability matrix of a sandbox with 50 models that answers every request 200 ms late, in its own process.

Asserts at most one request per cell (the discovery's GET /v1/models aside) and a wall time within 1.5x the
ideal, max(longest chain of exchanges, serial sum / concurrency). A chain is one exchange, or a feature
cell's exchange after the basic cell it waits for (chat.tools after chat...). Reports the figures.

    python benchmarks/bench_matrix.py [--models 50] [--latency-ms 200] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_run import free_port, wait_listening
from oimi_conformance.cli import main as cli_main
from oimi_conformance.sandbox.catalog import DEFAULT_MODELS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-ratio", type=float, default=1.5)
    args = parser.parse_args()
    extra = max(0, args.models - len(DEFAULT_MODELS))
    port = free_port()
    sandbox = subprocess.Popen([sys.executable, "-m", "oimi_conformance.cli", "sandbox", "--port", str(port),
                                "--latency-ms", str(args.latency_ms), "--extra-models", str(extra)],
                               stdout=subprocess.DEVNULL)
    report = Path(tempfile.mkdtemp(prefix="bench-matrix-"))
    try:
        wait_listening(port)
        start = time.monotonic()
        with contextlib.redirect_stdout(io.StringIO()):  # the table: 50 rows nobody reads here
            code = cli_main(["matrix", "--base-url", f"http://127.0.0.1:{port}", "--api-key", "sk-sandbox-valid",
                             "--concurrency", str(args.concurrency), "--report-dir", str(report), "-q"])
        wall = time.monotonic() - start
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    if code != 0:
        print(f"oimi-conformance matrix exited {code}", file=sys.stderr)
        return 1
    matrix = json.loads((report / "matrix.json").read_text())
    record = json.loads((report / "results.json").read_text())
    exchanges = json.loads((report / "exchanges.json").read_text())
    cells = len(matrix["models"]) * len(matrix["capabilities"])
    probed = cells - matrix["counts"]["not probed"]
    requests = record["meta"]["requests"]
    elapsed = {eid: e["elapsed"] for eid, e in exchanges.items()}
    # the longest chain: a feature's exchange waits for its endpoint's basic one on the same model
    by_cell = {}
    for model, row in matrix["cells"].items():
        for capability, cell in row.items():
            if cell["exchange"]:
                by_cell[(model, capability)] = elapsed[cell["exchange"]]
    chains = [t + by_cell.get((m, matrix["probes"][c]["requires"] or ""), 0.0) for (m, c), t in by_cell.items()]
    longest_chain = max(chains)  # (the discovery before them is one more exchange, not in exchanges.json)
    serial = sum(elapsed.values())
    ideal = max(longest_chain, serial / args.concurrency)
    print(json.dumps(matrix["counts"]))
    print(f"{len(matrix['models'])} models x {len(matrix['capabilities'])} capabilities = {cells} cells, "
          f"{probed} probed; requests sent {requests} (discovery 1 + {requests - 1} for {probed} probed cells); "
          f"exchanges recorded {len(exchanges)}")
    print(f"latency {args.latency_ms:g} ms, concurrency {args.concurrency}: serial sum {serial:.2f} s, "
          f"longest chain {longest_chain:.2f} s, ideal {ideal:.2f} s")
    print(f"wall time {wall:.2f} s = {wall / ideal:.2f} x ideal (bar {args.max_ratio:g}x)")
    ok = requests - 1 <= probed and wall <= args.max_ratio * ideal
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
