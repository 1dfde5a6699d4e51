"""Replaying the shipped cassettes (cassettes/sandbox): wall time, and checks judged per second.

Bars: the whole replay under 30 s on a 2-core machine, and at least 300 checks judged per second.

    python benchmarks/bench_replay.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from oimi_conformance.engine import Engine
from oimi_conformance.run_options import Options
from oimi_conformance.target import Target

SHIPPED = Path(__file__).resolve().parents[1] / "cassettes" / "sandbox"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    walls, judge_rates, results = [], [], 0
    for _ in range(args.rounds):
        options = Options(record_mode="none", cassette_dir=str(SHIPPED))
        with Target(options) as config:
            start = time.monotonic()
            engine = Engine(config)
            pairs = engine.prepare()
            engine.exchange()
            judged_from = time.monotonic()
            record = engine.record([engine.judge_one(c, r, engine.facts) for c, r in pairs])
            end = time.monotonic()
        walls.append(end - start)
        judge_rates.append(len(pairs) / (end - judged_from))
        results = len(record.results)
    wall, rate = max(walls), min(judge_rates)  # the cold first round: schemas compiled, cassettes parsed
    print(f"replayed {SHIPPED.relative_to(SHIPPED.parents[1])}: {record.meta['exchanges']} exchanges, "
          f"{results} check results, {record.meta['requests']} network requests")
    print(f"wall time {wall:.2f} s (bar 30 s); judging {rate:,.0f} checks/s (bar 300/s); worst of {args.rounds}")
    return 0 if wall < 30 and rate >= 300 else 1


if __name__ == "__main__":
    sys.exit(main())
