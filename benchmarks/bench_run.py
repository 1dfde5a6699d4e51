"""A full default run against a sandbox that answers every request 200 ms late, in its own process.

Reports the run's wall time against the ideal, max(longest single exchange, serial sum / concurrency),
and the harness's peak memory. The bar: within 1.5x the ideal at --concurrency 16, under 300 MB.

    python benchmarks/bench_run.py [--latency-ms 200] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import resource
import socket
import subprocess
import sys
import time

from oimi_conformance.engine import Engine, RunConfig
from oimi_conformance.profile import load_expectations, load_profile
from oimi_conformance.session import SANDBOX_KEYS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the sandbox did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-ratio", type=float, default=1.5)
    parser.add_argument("--max-rss-mb", type=float, default=300.0)
    args = parser.parse_args()
    port = free_port()
    sandbox = subprocess.Popen([sys.executable, "-m", "oimi_conformance.cli", "sandbox", "--port", str(port),
                                "--latency-ms", str(args.latency_ms)], stdout=subprocess.DEVNULL)
    try:
        wait_listening(port)
        config = RunConfig(base_url=f"http://127.0.0.1:{port}", keys=dict(SANDBOX_KEYS), profile=load_profile("oimi"),
                           expectations=load_expectations("sandbox"), concurrency=args.concurrency)
        engine = Engine(config)
        start = time.monotonic()
        record = engine.run()
        wall = time.monotonic() - start
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    elapsed = [e["elapsed"] for e in record.exchanges.values()]
    # discovery must finish before planning: it is on the critical path of any run
    longest_chain = max(elapsed)
    ideal = max(longest_chain, sum(elapsed) / args.concurrency)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = record.counts
    print(f"requests: {record.meta['requests']}  exchanges: {len(elapsed)}  checks judged: {len(record.results)}  "
          f"({counts['passed']} passed, {counts['failed']} failed, {counts['xfailed']} xfailed, "
          f"{counts['skipped']} skipped, {counts['error']} error)")
    print(f"latency {args.latency_ms:g} ms, concurrency {args.concurrency}: serial sum {sum(elapsed):.2f} s, "
          f"longest exchange {longest_chain:.2f} s, ideal {ideal:.2f} s")
    print(f"wall time {wall:.2f} s = {wall / ideal:.2f} x ideal (bar {args.max_ratio:g}x); "
          f"peak memory {rss_mb:.0f} MB (bar {args.max_rss_mb:g} MB)")
    return 0 if wall <= args.max_ratio * ideal and rss_mb <= args.max_rss_mb else 1


if __name__ == "__main__":
    sys.exit(main())
