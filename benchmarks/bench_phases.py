"""Where the time of an ``oimi-conformance run`` goes, phase by phase, and every figure against issue 14's targets.

Each measured command runs in its own process, several times; the medians are printed. Phases of one run:

* start-up: the interpreter and the harness's imports;
* options + plan set-up: the rest of the harness's work before pytest starts;
* target: starting the embedded sandbox (nothing for a replay);
* discovery: model discovery and planning (``Engine.prepare``);
* start-up: pytest: pytest's own start (options, plugins, ini files);
* collection: pytest collecting the parametrized checks;
* exchanges: the HTTP exchanges, or their replay (``Engine.exchange``);
* judging: every ``Engine.judge_one``;
* allure: allure-pytest's result files and the harness's titles and attachments (only with ``--alluredir``);
* pytest per-test: the rest of pytest's test loop (fixtures, reports, terminal);
* results.json + matrix, report.html, junit.xml: each reporter at the session's end;
* session end: the terminal summary and stopping the sandbox; interpreter exit: from there to the process's end.

Then the targets:

* whole ``run --replay cassettes/sandbox`` <= 2x plain pytest running as many empty parametrized tests with
  the same plugins installed (measured pair by pair, interleaved, so the machine's drift cancels);
* whole default ``run`` on the embedded sandbox <= 4 s;
* a live run against a sandbox answering 200 ms late, ``--concurrency 16``, <= 1.2x ideal (bench_run.py);
* stream judging >= 100k events/s, stable: the slowest round of every run too (bench_stream_judging.py).

A benchmark, not a test: it prints, and exits 1 when a target is missed.

    python benchmarks/bench_phases.py [--runs 5] [--no-live] [--no-stream]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PHASES = ("start-up: interpreter + imports", "options + plan set-up", "target", "discovery", "start-up: pytest",
          "collection", "exchanges", "judging", "allure", "pytest per-test", "results.json + matrix", "report.html",
          "junit.xml", "session end", "interpreter exit")


# ---- the child: one instrumented run, in its own process -------------------------------------------------------

def _child(out: Path, run_args: list[str]) -> NoReturn:
    t0 = float(os.environ["OIMI_BENCH_T0"])  # the parent's monotonic clock before the spawn (one clock on Linux)
    times: dict[str, float] = dict.fromkeys(PHASES, 0.0)
    import pytest

    from oimi_conformance import allure_support, cli, engine, pytest_plugin, reporters, target
    imported = time.monotonic()
    times["start-up: interpreter + imports"] = imported - t0

    def timed(owner: Any, name: str, phase: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.monotonic()
            try:
                return original(*args, **kwargs)
            finally:
                times[phase] += time.monotonic() - start
        setattr(owner, name, wrapper)

    # a benchmark may instrument: these wrappers only add up the time spent inside each function
    timed(target.Target, "__enter__", "target")
    timed(engine.Engine, "prepare", "discovery")
    timed(engine.Engine, "exchange", "exchanges")
    timed(engine.Engine, "judge_one", "judging")
    timed(reporters.ResultsJson, "write", "results.json + matrix")
    timed(reporters.MatrixFiles, "write", "results.json + matrix")
    timed(reporters.HtmlPage, "write", "report.html")
    timed(allure_support, "label", "allure")
    timed(allure_support, "describe", "allure")
    try:  # the files; allure-pytest's hook wrappers (its in-memory bookkeeping) fall in "pytest per-test"
        from allure_commons.logger import AllureFileLogger

        for name in ("_report_item", "report_attached_data", "report_attached_file"):
            timed(AllureFileLogger, name, "allure")
    except ImportError:
        pass
    from _pytest.junitxml import LogXML
    timed(LogXML, "pytest_sessionfinish", "junit.xml")
    counted: dict[str, int] = {}

    class Clock:
        @pytest.hookimpl(tryfirst=True)
        def pytest_collection(self, session: pytest.Session) -> None:
            times["start-up: pytest"] = time.monotonic() - main_start
            marks["collection"] = time.monotonic()

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtestloop(self, session: pytest.Session) -> None:
            times["collection"] = time.monotonic() - marks["collection"]
            counted["tests"] = len(session.items)
            marks["loop"] = time.monotonic()
            marks["judging"], marks["exchanges"], marks["allure"] = (times["judging"], times["exchanges"],
                                                                     times["allure"])

        @pytest.hookimpl(tryfirst=True)
        def pytest_sessionfinish(self, session: pytest.Session) -> None:
            inside = sum(times[p] - marks[p] for p in ("judging", "exchanges", "allure"))
            marks["end"] = time.monotonic()
            times["pytest per-test"] = marks["end"] - marks["loop"] - inside

    marks: dict[str, float] = {}
    original_main = pytest.main
    main_start = 0.0

    def main(args: list[str], plugins: list[Any] | None = None) -> Any:
        nonlocal main_start
        main_start = time.monotonic()
        times["options + plan set-up"] = main_start - imported - times["target"] - times["discovery"]
        return original_main(args, plugins=[*(plugins or []), Clock()])
    pytest.main = main  # type: ignore[assignment]
    assert pytest_plugin  # imported above so that its import counts as start-up, not as a phase
    code = cli.main(run_args)
    # the terminal summary, stopping the sandbox, and what the reporters above did not take
    reporters = ("results.json + matrix", "report.html", "junit.xml")
    times["session end"] = time.monotonic() - marks.get("end", time.monotonic()) - sum(times[p] for p in reporters)
    out.write_text(json.dumps({"times": times, "tests": counted.get("tests", 0), "code": code,
                               "returned": time.monotonic()}))
    cli.leave(0)  # as the console script ends, so "interpreter exit" is the command's own


# ---- the parent ---------------------------------------------------------------------------------------------------

def _spawn(argv: list[str], ended: list[float] | None = None) -> float:
    start = time.monotonic()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   env={**os.environ, "OIMI_BENCH_T0": repr(start)}, cwd=ROOT)
    if ended is not None:
        ended.append(time.monotonic())
    return time.monotonic() - start


def _phases(name: str, run_args: list[str], runs: int, tmp: Path) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for i in range(runs + 1):  # the first is a warm-up (file caches), not counted
        out = tmp / f"{name}-{i}.json"
        ended: list[float] = []
        wall = _spawn([sys.executable, str(Path(__file__)), "--child", str(out), "--", *run_args], ended)
        if not out.is_file():  # the instrumented child failed: say so in one line
            raise SystemExit(f"bench_phases: the instrumented run `{name}` wrote no figures; run it alone: "
                             f"python {Path(__file__).name} --child {out} -- {' '.join(run_args)}")
        row = json.loads(out.read_text())
        row["wall"] = wall
        row["times"]["interpreter exit"] = ended[0] - row["returned"]
        if i:
            rows.append(row)
    median = {p: statistics.median(r["times"][p] for r in rows) for p in PHASES}
    walls = [r["wall"] for r in rows]
    print(f"\n{name}: oimi-conformance {' '.join(run_args)}")
    print(f"  {rows[0]['tests']} tests, exit {rows[0]['code']}; whole process, median of {runs}: "
          f"{statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f})")
    for phase in PHASES:
        print(f"  {phase:31} {median[phase]:6.2f} s")
    rest = statistics.median(walls) - sum(median.values())
    print(f"  {'unaccounted':31} {rest:6.2f} s")
    return {"wall": statistics.median(walls), "walls": walls, "tests": rows[0]["tests"]}


def _baseline_vs_replay(tests: int, runs: int, tmp: Path) -> tuple[float, float, float]:
    """Whole replay and whole plain pytest on as many empty parametrized tests, interleaved pair by pair."""
    suite = tmp / "empty"
    suite.mkdir(exist_ok=True)
    (suite / "test_empty.py").write_text(
        f"import pytest\n\n\n@pytest.mark.parametrize('n', range({tests}))\ndef test_empty(n):\n    pass\n")
    baseline = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(suite), str(suite)]
    replay = [sys.executable, "-m", "oimi_conformance.cli", "run", "-q", "--replay", "cassettes/sandbox",
              "--report-dir", str(tmp / "replay-report")]
    pairs = []
    _spawn(baseline), _spawn(replay)  # warm-up
    for _ in range(runs):
        pairs.append((_spawn(replay), _spawn(baseline)))
    ratio = statistics.median(a / b for a, b in pairs)
    return statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs), ratio


def _script_figures(argv: list[str], pattern: str, runs: int) -> list[float]:
    found = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, *argv], capture_output=True, text=True, cwd=ROOT, check=False)
        match = re.search(pattern, done.stdout)
        if match is None:
            print(f"  {' '.join(argv)} printed no figure: {done.stdout[-300:]} {done.stderr[-300:]}")
            continue
        found.append(float(match.group(1).replace(",", "")))
    return found


def _stream_judging(runs: int) -> list[tuple[float, float]]:
    """(median, slowest round) in events/s of each run of bench_stream_judging.py, which times several rounds."""
    found = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, str(HERE / "bench_stream_judging.py"), "--min-rate", "0"],
                              capture_output=True, text=True, cwd=ROOT, check=False)
        match = re.search(r"median ([\d,]+) events/s, min ([\d,]+)", done.stdout)
        if match is None:
            print(f"  bench_stream_judging.py printed no figure: {done.stdout[-300:]} {done.stderr[-300:]}")
            continue
        found.append((float(match.group(1).replace(",", "")), float(match.group(2).replace(",", ""))))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="counted runs of each command (after one warm-up)")
    parser.add_argument("--no-live", action="store_true", help="leave out the live run at 200 ms latency")
    parser.add_argument("--no-stream", action="store_true", help="leave out stream judging")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("run_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(Path(args.child), args.run_args)
    verdicts: list[tuple[str, str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="oimi-bench-phases-") as name:
        tmp = Path(name)
        default = _phases("default run", ["run", "-q", "--report-dir", str(tmp / "default")], args.runs, tmp)
        replay = _phases("replay", ["run", "-q", "--replay", "cassettes/sandbox", "--report-dir", str(tmp / "r")],
                         args.runs, tmp)
        _phases("replay with Allure results",
                ["run", "-q", "--replay", "cassettes/sandbox", "--report-dir", str(tmp / "a"),
                 "--alluredir", str(tmp / "a" / "allure-results")], args.runs, tmp)
        whole, empty, ratio = _baseline_vs_replay(replay["tests"], args.runs, tmp)
        print(f"\nplain pytest, {replay['tests']} empty parametrized tests, same plugins installed: {empty:.2f} s; "
              f"whole replay {whole:.2f} s; ratio, median pair by pair: {ratio:.2f}x")
        verdicts.append(("whole run --replay cassettes/sandbox vs the empty-pytest baseline",
                         f"{ratio:.2f}x ({whole:.2f} s vs {empty:.2f} s)", ratio <= 2.0))
        verdicts.append(("whole default run on the embedded sandbox", f"{default['wall']:.2f} s",
                         default["wall"] <= 4.0))
    if not args.no_live:
        ratios = _script_figures([str(HERE / "bench_run.py"), "--runs", "1", "--max-ratio", "1.2"],
                                 r"= ([\d.]+) x ideal", max(3, args.runs // 2))
        if ratios:
            live = statistics.median(ratios)
            verdicts.append(("live run, 200 ms latency, --concurrency 16",
                             f"{live:.2f}x ideal (runs: {', '.join(f'{r:.2f}' for r in ratios)})", live <= 1.2))
    if not args.no_stream:
        rounds = _stream_judging(max(3, args.runs // 2))
        if rounds:
            medians, lows = [m for m, _ in rounds], [low for _, low in rounds]
            verdicts.append(("stream judging, one core (slowest of the runs must pass too)",
                             f"median {statistics.median(medians):,.0f} events/s, slowest round {min(lows):,.0f} "
                             f"(runs' medians: {', '.join(f'{m:,.0f}' for m in medians)})", min(lows) >= 100_000))
    print("\ntargets (issue 14):")
    targets = {"whole run --replay cassettes/sandbox vs the empty-pytest baseline": "<= 2x",
               "whole default run on the embedded sandbox": "<= 4 s",
               "live run, 200 ms latency, --concurrency 16": "<= 1.2x ideal",
               "stream judging, one core (slowest of the runs must pass too)": ">= 100,000 events/s"}
    for what, figure, ok in verdicts:
        print(f"  {'met   ' if ok else 'MISSED'} {what}: {figure} (target {targets[what]})")
    return 0 if all(ok for *_, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
