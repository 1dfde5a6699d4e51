"""Write reports/peers/new-api-verdict.json from a run of peers/new-api/run.sh.

    python peers/new-api/verdict.py [REPORT_DIR]      (default .peers/new-api/report)

REPORT_DIR is a live run of run.sh, or a replay of the recording (``oimi-conformance run --replay
cassettes/new-api --report-dir DIR``), e.g. after the expectations changed: the live-only SDK and delivery
results are not part of the verdict, and the peer (commit, version) then comes from cassettes/new-api/_run.json.

The verdict is what tests/test_peer_new_api.py requires the offline replay of cassettes/new-api to
reproduce: the outcome counts, every non-passing result and a digest of all of them (the same shape as
every peer's, peers/replay_verdict.py), plus the new-api commit and version the run was made against.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # peers/: the shared report parts
from replay_verdict import verdict, write_verdict

ROOT = Path(__file__).resolve().parents[2]


def main(report_dir: Path) -> int:
    results = report_dir / "results.json"
    peer_file = report_dir / "peer-version.json"
    if not results.is_file():
        print(f"verdict.py: {report_dir} has no results.json: run peers/new-api/run.sh (or a replay) first",
              file=sys.stderr)
        return 2
    record = json.loads(results.read_text(encoding="utf-8"))
    if peer_file.is_file():
        peer = json.loads(peer_file.read_text(encoding="utf-8"))
    else:  # a replay: the recording names what it was made against
        peer = json.loads((ROOT / "cassettes" / "new-api" / "_run.json").read_text(encoding="utf-8"))["peer"]
    expectations = record["meta"].get("expectations")
    payload = {"peer": peer, "profile": record["meta"]["profile"],
               "expectations": Path(expectations).stem if expectations else None, **verdict(record)}
    print(f"wrote {write_verdict('new-api', payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".peers" / "new-api" / "report"))
