"""Write Portkey's conformance report from a run of peers/portkey/run.sh.

    python peers/portkey/report.py [REPORT_DIR]      (default .peers/portkey-run/report)

reports/peers/portkey.md: the gateway's version, how it was run, the capability matrix, the official SDKs'
results, and each failed check with its sentence, official reference and issue from
specs/expectations/portkey.toml. reports/peers/portkey-verdict.json: what tests/test_peers.py requires the
replay of cassettes/portkey to reproduce offline (the same digest as every peer's, peers/replay_verdict.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from oimi_conformance.matrix import build_matrix, matrix_markdown
from oimi_conformance.profile import load_expectations

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # peers/: the shared report parts
from known_failures import known_failure_lines
from replay_verdict import verdict, write_report

ROOT = Path(__file__).resolve().parents[2]


def main(report_dir: Path) -> None:
    record = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    version = (report_dir / "peer-version.txt").read_text(encoding="utf-8").strip()
    expectations = load_expectations("portkey")
    results, meta = record["results"], record["meta"]
    counts = meta["counts"]
    lines = [
        "# Portkey's AI gateway against the Oimi contract",
        "",
        f"**{version}** (npm, unmodified; `@hono/node-server` 1.14.1 and `@hono/node-ws` 1.2.0 pinned with npm "
        "`overrides` and a committed `package-lock.json`, `peers/portkey/`), judged by oimi-conformance "
        f"{meta['harness_version']} with profile `{meta['profile']}` (the official references' rules only): "
        f"{counts['passed']} passed, {counts['xfailed']} known failures (below), {counts['failed']} unexpected "
        f"failures, {counts['error']} errors, {counts['skipped']} skipped, from {meta['requests']} requests.",
        "",
        "Portkey is configured per request by one header, `x-portkey-config` (`peers/portkey/config.json`, sent "
        "with `--header`): conditional routing on `url.pathname` sends `/v1/messages...` to an `anthropic` target "
        "and everything else to an `openai` target, both with the sandbox gateway on loopback as `custom_host` "
        "and `forward_headers` passing the client's own key through, so the negative auth cases reach the "
        "upstream that refuses them. Models: `sandbox-omni` (chat, responses, compact, messages), "
        "`sandbox-embed`, `sandbox-image`, `sandbox-rerank`.",
        "",
        "Reproduce: `peers/portkey/setup.sh && peers/portkey/run.sh` (CI does, with `--strict-expectations`). "
        "Re-record the cassettes and this report: `peers/portkey/run.sh --record && python peers/portkey/report.py`.",
        "",
        "## Capability matrix",
        "",
        matrix_markdown(build_matrix(record)).rstrip(),
        "",
        "## The official SDKs against Portkey",
        "",
        "| check | SDK | model | outcome |",
        "|---|---|---|---|",
    ]
    sdk = sorted((r for r in results if r["check_id"].startswith("sdk.")), key=lambda r: r["check_id"])
    lines += [f"| `{r['check_id']}` | {r.get('sdk_version') or '?'} | {r['model'] or '-'} | {r['outcome']} |"
              for r in sdk] or ["| (the SDK checks did not run) | | | |"]
    lines += ["", "## What Portkey gets wrong", "",
              "Each known failure: the sentence of `specs/expectations/portkey.toml`, the official reference it "
              "rests on, and the results it covers (check @ case [models]).", ""]
    lines += known_failure_lines(results, expectations, "Portkey issue")
    lines += [
        "## Seen, not counted under this profile",
        "",
        "- Errors from `/v1/messages` are rewritten into an OpenAI-like envelope with an extra `provider` field "
        "(`{\"error\":{\"message\":\"anthropic error: ...\",\"type\":...},\"provider\":\"anthropic\"}`) instead of "
        "Anthropic's `{\"type\":\"error\",\"error\":{...}}` (https://docs.anthropic.com/en/api/errors); errors "
        "from the openai target get an `\"openai error: \"` prefix. Profile `openai-compatible` accepts the OpenAI "
        "envelope on Claude routes, so no check fails on them; a stricter profile would.",
        "",
        "## Running it",
        "",
        "- Dependencies: npm's default resolution installs `@hono/node-server` 1.19.x (1.19.19 and `@hono/node-ws` "
        "1.3.1 when this was checked), with which every stream (chat, messages, responses), every pass-through "
        "route (`/v1/models`, `/v1/rerank`, `/v1/responses/compact`) and every successful embeddings call answers "
        "500 `{\"status\":\"failure\",\"message\":\"Something went wrong\"}`, the log saying `TypeError: immutable` "
        "(Portkey-AI/gateway #1389, #1550): checked by running `run.sh` against such an install. `package.json` "
        "pins 1.14.1 and `@hono/node-ws` 1.2.0 with `overrides`.",
        "- Portkey listens on every interface and has no host flag: `run.sh` refuses to run it outside a network "
        "namespace that has nothing but loopback (`unshare -n`), and logs its `connect()` calls with strace: "
        "none went anywhere but 127.0.0.1.",
        "- Portkey's config schema requires `api_key` on a target; it is `\"\"` so that only the client's "
        "forwarded key reaches the upstream (a placeholder key would shadow a Bearer key on `/v1/messages`).",
        "- `delivery.*` (arrival-time checks) are not gated, as for LiteLLM.",
        "",
    ]
    write_report("portkey", lines, {"peer": version, "profile": meta["profile"], **verdict(record)})


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".peers" / "portkey-run" / "report")
