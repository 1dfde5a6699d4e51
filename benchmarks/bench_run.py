"""A full default run against a sandbox that answers every request 200 ms late, each run in its own process.

Reports the run's wall time (``Engine.run``: discovery, planning, exchanges, judging, the record) against the
ideal, and the harness's peak memory; with ``--runs N`` (default 5) the medians of N runs. The bar (issue 14):
the median within 1.2x the ideal at --concurrency 16, under 300 MB.

The ideal is the true lower bound of any schedule of the exchanges this run made, taking each at the time it
took:

    ideal = discovery + max(longest dependency chain, serial sum of the other exchanges / concurrency)

- the discovery (GET /v1/models) comes first: nothing is planned before its answer;
- a dependency chain is a case run's steps, sent one after another (each is built from the answer before it),
  preceded by the chain of the run it is sent ``after``, if any: no concurrency shortens a chain;
- the other exchanges fill ``--concurrency`` slots at best, so they take at least their sum over it.

A bound that left out the chains (max(longest single exchange, serial sum / concurrency)) is not a lower
bound: a run of four steps of 0.2 s takes 0.8 s whatever the concurrency. A retried 429's waits are part of
its exchange's time here; this run's sandbox sends no 429 that is retried.

    python benchmarks/bench_run.py [--runs 5] [--latency-ms 200] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

from oimi_conformance.engine import Engine, RunConfig
from oimi_conformance.plan import CaseRun
from oimi_conformance.profile import load_expectations, load_profile
from oimi_conformance.target import SANDBOX_KEYS


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


def chain_seconds(run: CaseRun, answered_before: set[int]) -> float:
    """The time of ``run``'s chain: its own exchanges one after another, after the chain of the run it waits
    for; an answer the discovery already gave costs nothing."""
    own = sum(e.elapsed for e in run.exchanges.values() if id(e) not in answered_before)
    return own + (chain_seconds(run.after, answered_before) if run.after is not None else 0.0)


def one_run(latency_ms: float, concurrency: int) -> dict[str, Any]:
    """One run against a fresh sandbox; its figures."""
    port = free_port()
    sandbox = subprocess.Popen([sys.executable, "-m", "oimi_conformance.cli", "sandbox", "--port", str(port),
                                "--latency-ms", str(latency_ms)], stdout=subprocess.DEVNULL)
    try:
        wait_listening(port)
        config = RunConfig(base_url=f"http://127.0.0.1:{port}", keys=dict(SANDBOX_KEYS), profile=load_profile("oimi"),
                           expectations=load_expectations("sandbox"), concurrency=concurrency)
        engine = Engine(config)
        start = time.monotonic()  # what Engine.run does, with the discovery's answers told apart
        pairs = engine.prepare()
        discovery = list(engine.finished.values())  # all that prepare sent: the model list
        prepared = time.monotonic()
        engine.exchange()
        exchanged = time.monotonic()
        record = engine.record([engine.judge_one(check, run, engine.facts) for check, run in pairs])
        wall = time.monotonic() - start
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    before = {id(e) for e in discovery}
    others = [e for e in {id(e): e for e in engine.finished.values()}.values() if id(e) not in before]
    first = sum(e.elapsed for e in discovery)
    longest = max((chain_seconds(r, before) for r in engine.runs), default=0.0)
    serial = sum(e.elapsed for e in others)
    counts = record.counts
    phases = {"prepare": prepared - start, "exchange": exchanged - prepared, "judge": start + wall - exchanged}
    return {"wall": wall, "phases": phases, "discovery": first, "chain": longest, "serial": serial,
            "ideal": first + max(longest, serial / concurrency), "requests": record.meta["requests"],
            "exchanges": len(others) + len(discovery), "retried": sum(1 for e in others if e.attempts > 1),
            "judged": len(record.results), "counts": counts,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs, each in its own process; medians are printed")
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-ratio", type=float, default=1.2)
    parser.add_argument("--max-rss-mb", type=float, default=300.0)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child: one run, JSON out
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.latency_ms, args.concurrency)))
        return 0
    figures = []
    for index in range(max(1, args.runs)):
        done = subprocess.run([sys.executable, __file__, "--one", "--latency-ms", str(args.latency_ms),
                               "--concurrency", str(args.concurrency)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"run {index + 1} failed: {done.stderr.strip()[-500:]}", file=sys.stderr)
            return 1
        f = json.loads(done.stdout.strip().splitlines()[-1])
        figures.append(f)
        c = f["counts"]
        print(f"run {index + 1}: {f['requests']} requests, {f['judged']} checks judged ({c['passed']} passed, "
              f"{c['failed']} failed, {c['xfailed']} xfailed, {c['skipped']} skipped, {c['error']} error); "
              f"discovery {f['discovery']:.2f} s, longest chain {f['chain']:.2f} s, serial sum {f['serial']:.2f} s "
              f"-> ideal {f['ideal']:.2f} s; wall {f['wall']:.2f} s ("
              + ", ".join(f"{name} {seconds:.2f}" for name, seconds in f["phases"].items())
              + f"), {f['wall'] / f['ideal']:.2f}x"
              + (f"; {f['retried']} exchanges retried" if f["retried"] else ""))

    def median(name: str) -> float:
        return statistics.median(f[name] for f in figures)

    ratio = statistics.median(f["wall"] / f["ideal"] for f in figures)
    rss_mb = max(f["rss_mb"] for f in figures)
    print(f"latency {args.latency_ms:g} ms, concurrency {args.concurrency}, medians of {len(figures)} runs: "
          f"ideal {median('ideal'):.2f} s (discovery {median('discovery'):.2f} s + max(longest chain "
          f"{median('chain'):.2f} s, serial sum {median('serial'):.2f} s / {args.concurrency}))")
    print(f"wall time {median('wall'):.2f} s = {ratio:.2f} x ideal (bar {args.max_ratio:g}x); "
          f"peak memory {rss_mb:.0f} MB (bar {args.max_rss_mb:g} MB)")
    return 0 if ratio <= args.max_ratio and rss_mb <= args.max_rss_mb else 1


if __name__ == "__main__":
    sys.exit(main())
