"""How fast the harness judges streams: SSE/JSON-array framing + event schemas + grammar + rules.

Runs every real recorded stream of ../shared/real-traffic through the same ``judge`` the checks
use, several rounds, on one core (one process, one thread), and prints events judged per second.
Judging must never dominate a run: the bar is 10,000 events/s.

    python benchmarks/bench_stream_judging.py [--rounds N] [--min-rate 10000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from oimi_conformance import judge

ROOT = Path(__file__).resolve().parents[1]
TRAFFIC = ROOT.parent / "shared" / "real-traffic"

STREAM_KINDS = {
    ("openai", "chat.completions"): "openai.chat.completion.stream",
    ("openai", "responses"): "openai.responses.stream",
    ("anthropic", "messages"): "anthropic.messages.stream",
}


def load_streams() -> list[tuple[str, bytes, dict | None]]:
    streams = []
    for path in sorted(TRAFFIC.glob("*.json")):
        ex = json.loads(path.read_text(encoding="utf-8"))
        if not ex["stream"] or ex["status"] >= 400:
            continue
        body = ex["response_body"]
        if ex["provider"] == "gemini":
            kind = "gemini.stream.json_array" if body.lstrip().startswith("[") else "gemini.stream.sse"
        else:
            kind = STREAM_KINDS.get((ex["provider"], ex["endpoint"]))
        if kind:
            request = ex["request_body"] if isinstance(ex["request_body"], dict) else None
            streams.append((kind, body.encode("utf-8"), request))
    return streams


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-rate", type=float, default=10_000.0, help="exit 1 below this many events/s")
    args = parser.parse_args()
    streams = load_streams()
    if not streams:
        print(f"no recorded streams under {TRAFFIC}", file=sys.stderr)
        return 2
    for kind, body, request in streams:  # warm up: compile every schema once, as a run does
        judge(kind, body, request)
    events = violations = 0
    start = time.process_time()
    for _ in range(args.rounds):
        for kind, body, request in streams:
            verdict = judge(kind, body, request)
            events += verdict.events
            violations += len(verdict.violations)
    elapsed = time.process_time() - start
    rate = events / elapsed
    megabytes = sum(len(b) for _, b, _ in streams) * args.rounds / 1e6
    print(f"streams: {len(streams)}  rounds: {args.rounds}  events judged: {events}  violations: {violations}")
    print(f"CPU time: {elapsed:.2f} s  ->  {rate:,.0f} events/s, {megabytes / elapsed:.1f} MB/s (one core)")
    return 0 if rate >= args.min_rate else 1


if __name__ == "__main__":
    sys.exit(main())
