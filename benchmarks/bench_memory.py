"""Peak memory of a run, as the number of big answers grows, and of a replay of a 1 GB cassette.

A gateway that answers every request with 16 MiB must not make the harness grow with the number of
requests: bodies over ``exchange.SPILL_BYTES`` are kept on disk, and judging reads them back one at a
time. A cassette over ``cassette_yaml.MAX_CASSETTE_BYTES`` is refused before it is read; the largest one
accepted is replayed within the same bar.

Each measurement is a whole ``oimi-conformance run`` in its own process (reports written, Allure off),
against the project's hostile gateway (``oimi_conformance.testing.hostile``, mode ``big``, on loopback,
in another process), and its peak RSS is read from ``wait4``. Bar: every peak under 300 MB, and the
peak for the most answers within 20% (+30 MB) of the peak for the fewest.

    python benchmarks/bench_memory.py [--counts 25,50,100,200] [--body-mib 16] [--cassette-gib 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BAR_MB = 300


def _peak_mb(argv: list[str], env: dict[str, str]) -> tuple[int, float, float]:
    """Run ``argv``; its exit code, peak RSS (MB) and wall time (s)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024, time.monotonic() - start


def _hostile(body_bytes: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "oimi_conformance.testing.hostile", "--mode", "big",
                             "--body-bytes", str(body_bytes)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _big_cassette(root: Path, gib: float) -> None:
    """A cassette folder whose one cassette is ``gib`` GiB (a body of that size), written in chunks."""
    folder = root / "chat.basic"
    folder.mkdir(parents=True)
    (root / "_run.json").write_text(json.dumps({"target": "big", "models": ["hostile-chat"], "key_roles": ["main"],
                                                "profile": "oimi"}))
    chunk = b"a" * (1 << 20)
    with (folder / "hostile-chat.yaml").open("wb") as out:
        out.write(b"interactions:\n- request:\n    body: ''\n    headers: {}\n    method: POST\n"
                  b"    uri: http://replay.invalid/v1/chat/completions\n  response:\n    body:\n      string: '")
        for _ in range(int(gib * 1024)):
            out.write(chunk)
        out.write(b"'\n    headers: {}\n    status: {code: 200, message: ''}\nversion: 1\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="25,50,100,200", help="numbers of big answers, one run each")
    parser.add_argument("--body-mib", type=float, default=16.0)
    parser.add_argument("--cassette-gib", type=float, default=1.0)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    env = dict(os.environ)
    cli = [sys.executable, "-m", "oimi_conformance.cli", "run"]
    # the harness reads at most 16 MiB of a body: a bigger answer is cut there (and judged as cut)
    server, base_url = _hostile(int(args.body_mib * 1024 * 1024) - 64)
    peaks = []
    ok = True
    try:
        with tempfile.TemporaryDirectory(prefix="oimi-bench-memory-") as tmp:
            for count in counts:
                models = ",".join(f"big-{n:04d}" for n in range(count))  # one distinct request per model
                code, peak, wall = _peak_mb([*cli, "--base-url", base_url, "--api-key", "sk-bench-0000",
                                             "--models", models, "--cases", "chat.basic", "--report-dir",
                                             str(Path(tmp) / f"r{count}"), "-q"], env)
                peaks.append(peak)
                print(f"{count:4d} answers of {args.body_mib:g} MiB: peak RSS {peak:6.0f} MB, {wall:5.1f}s, "
                      f"exit {code}")
                ok &= code in (0, 1) and peak < BAR_MB
            root = Path(tmp) / "cassettes"
            _big_cassette(root, args.cassette_gib)
            size = (root / "chat.basic" / "hostile-chat.yaml").stat().st_size
            code, peak, wall = _peak_mb([*cli, "--replay", str(root), "--report-dir", str(Path(tmp) / "replay"),
                                         "-q"], env)
            print(f"replay of a {size / 2**30:.2f} GiB cassette: peak RSS {peak:6.0f} MB, {wall:5.1f}s, exit {code} "
                  "(refused over the cassette size limit: one line, exit 2)")
            ok &= code == 2 and peak < BAR_MB
            # and the largest cassette still accepted, replayed and judged
            from oimi_conformance.cassette_yaml import MAX_CASSETTE_BYTES

            root = Path(tmp) / "largest"
            _big_cassette(root, (MAX_CASSETTE_BYTES - (2 << 20)) / 2**30)
            code, peak, wall = _peak_mb([*cli, "--replay", str(root), "--report-dir", str(Path(tmp) / "largest-r"),
                                         "-q"], env)
            size = (root / "chat.basic" / "hostile-chat.yaml").stat().st_size
            print(f"replay of a {size / 2**20:.0f} MiB cassette (the largest accepted): peak RSS {peak:6.0f} MB, "
                  f"{wall:5.1f}s, exit {code}")
            ok &= code in (0, 1) and peak < BAR_MB
    finally:
        server.terminate()
        server.wait()
    flat = peaks[-1] <= peaks[0] * 1.2 + 30
    print(f"bar: every peak under {BAR_MB} MB and flat as answers grow "
          f"({peaks[0]:.0f} -> {peaks[-1]:.0f} MB): {'met' if ok and flat else 'NOT met'}")
    return 0 if ok and flat else 1


if __name__ == "__main__":
    sys.exit(main())
