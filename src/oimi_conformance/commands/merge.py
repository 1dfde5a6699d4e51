"""``oimi-conformance merge DIR...``: the report folders of the N shards of one run (``--shard K/N``) put back
together as the unsharded run writes them: results.json, exchanges.json, matrix.json, matrix.md,
report.html, and the Allure results side by side.

Every case run belongs to exactly one shard, so results and exchanges are unions; the models and their
claims come from the shards' own discoveries, which must agree. Results are written in one canonical order
(check, case, model, auth), so a merge does not depend on the order of the folders. ``requests`` is what
the N jobs really sent (each discovered the models once).

Exit codes: 0 merged, 1 the merged run holds a failed check (as `run` would exit; a merged matrix exits 0
as `matrix` does), 2 usage error (a shard missing or given twice, folders of different runs).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..exceptions import UsageError
from ..exits import EXIT_FAILED, EXIT_OK

SAME_RUN = ("target", "profile", "expectations", "mode")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("merge", help="combine the report folders of a sharded run (--shard K/N) into one",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dirs", nargs="+", metavar="DIR", help="the shards' report folders (each holds results.json)")
    p.add_argument("--report-dir", default="reports/merged", help="where the merged run goes (default: "
                                                                   "reports/merged)")
    p.set_defaults(func=run)


def _load(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    path = folder / "results.json"
    if not path.is_file():
        raise UsageError(f"no results.json in {folder}")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        exchanges_path = folder / "exchanges.json"
        exchanges = json.loads(exchanges_path.read_text(encoding="utf-8")) if exchanges_path.is_file() else {}
    except ValueError as exc:
        raise UsageError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(record, dict) or "results" not in record or "meta" not in record:
        raise UsageError(f"{path} is not a results.json of oimi-conformance")
    return record, exchanges


def merge_records(shards: list[tuple[dict[str, Any], dict[str, Any]]]) -> tuple[Any, list[str]]:
    """The merged RunRecord of the shards, and the names of the shards (``K/N``) it holds."""
    from ..results import CheckResult, RunRecord

    seen: dict[int, int] = {}
    count = None
    for record, _ in shards:
        shard = record["meta"].get("shard")
        if not shard:
            raise UsageError(f"a results.json of target {record['meta'].get('target')!r} was not written by a "
                             "sharded run (--shard K/N)")
        index, total = int(shard[0]), int(shard[1])
        if count is not None and total != count:
            raise UsageError(f"shards of different splits: {total} and {count}")
        count = total
        if index in seen:
            raise UsageError(f"shard {index}/{total} given twice")
        seen[index] = total
    assert count is not None
    missing = [f"{k}/{count}" for k in range(1, count + 1) if k not in seen]
    if missing:
        raise UsageError(f"shard(s) {', '.join(missing)} missing: pass every shard's report folder")
    first = min(shards, key=lambda s: s[0]["meta"]["shard"][0])[0]
    for record, _ in shards:
        for key in SAME_RUN:
            if record["meta"].get(key) != first["meta"].get(key):
                raise UsageError(f"the folders are of different runs: {key} {record['meta'].get(key)!r} "
                                 f"vs {first['meta'].get(key)!r}")
        if record.get("models") != first.get("models"):
            raise UsageError("the shards discovered different models: run them against the same target, or pass "
                             "the same --models to each")
    results = [CheckResult(**r) for record, _ in shards for r in record["results"]]
    results.sort(key=lambda r: (r.check_id, r.case_id, r.model or "", r.auth))
    exchanges: dict[str, Any] = {}
    for _, part in shards:
        exchanges.update(part)
    meta = {k: v for k, v in first["meta"].items() if k not in ("shard", "counts")}
    metas = [record["meta"] for record, _ in shards]
    meta["requests"] = sum(int(m.get("requests", 0)) for m in metas)
    meta["exchanges"] = sum(int(m.get("exchanges", 0)) for m in metas)
    meta["tokens"] = {k: sum(int(m.get("tokens", {}).get(k, 0)) for m in metas) for k in ("input", "output")}
    meta["started"] = min(m.get("started", 0) for m in metas)
    meta["finished"] = max(m.get("finished", 0) for m in metas)
    meta["shards"] = count
    merged = RunRecord(meta=meta, results=results, exchanges=dict(sorted(exchanges.items())),
                       models=first.get("models", []))
    return merged, [f"{k}/{count}" for k in sorted(seen)]


def run(args: argparse.Namespace) -> int:
    from ..reporters import AllureResults, write_reports

    folders = [Path(d) for d in args.dirs]
    record, names = merge_records([_load(f) for f in folders])
    out = Path(args.report_dir)
    if out.resolve() in {f.resolve() for f in folders}:
        raise UsageError("--report-dir must not be one of the shards' folders")
    page = write_reports(record, out)["html"]
    AllureResults.merge(folders, out)
    counts = record.counts
    print(f"merged {len(names)} shards ({', '.join(names)}): " + ", ".join(f"{v} {k}" for k, v in counts.items())
          + f"\nreport: {out / 'results.json'}, {out / 'matrix.md'}, {page}")
    # a matrix is information (its exit code is 0 whatever the verdicts); a run gates
    return EXIT_FAILED if record.failed and record.meta.get("mode") != "matrix" else EXIT_OK
