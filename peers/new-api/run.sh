#!/usr/bin/env bash
# Run the harness against new-api itself, whose every channel has the sandbox gateway on loopback as its
# upstream: new-api converts and re-frames real protocol traffic, the harness judges it.
#
# This script builds nothing. Bring your own new-api binary (built by you from QuantumNous/new-api) or a
# running new-api on this machine:
#
#   NEW_API_BIN=/path/to/new-api NEW_API_COMMIT=<40 hex> peers/new-api/run.sh            # live run
#   NEW_API_BIN=/path/to/new-api NEW_API_COMMIT=<40 hex> peers/new-api/run.sh --record   # + cassettes/new-api/
#   NEW_API_URL=http://127.0.0.1:3000 NEW_API_ROOT_PASSWORD=... peers/new-api/run.sh      # a new-api you started
#
# --record also rewrites reports/peers/new-api-verdict.json (peers/new-api/verdict.py), which the offline
# replay of cassettes/new-api must reproduce in CI.
#
# With NEW_API_BIN everything runs on 127.0.0.1 in a fresh network namespace that has nothing but loopback
# (new-api listens on all interfaces), with a throw-away SQLite database under $NEW_API_WORK; the sandbox
# runs there too, and seed.py configures new-api through its admin API. With NEW_API_URL the new-api you
# started must reach the sandbox on 127.0.0.1:$SANDBOX_PORT, and seed.py logs in with
# $NEW_API_ROOT_PASSWORD (or creates the root user on a fresh database).
# Extra arguments go to `oimi-conformance run` (e.g. --cases 'chat.*' or -- -x).
# Exit status: the harness's (0 pass, 1 failures, 2 usage), or 3 when new-api or the sandbox did not start
# or could not be seeded.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=peers/common.sh
. "$HERE/../common.sh"  # listening, pids, cleanup on EXIT
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${NEW_API_WORK:-$ROOT/.peers/new-api}
SANDBOX_PORT=${SANDBOX_PORT:-18787}
NEW_API_PORT=${NEW_API_PORT:-13300}
REPORT_DIR=${REPORT_DIR:-$WORK/report}
# The models seed.py creates, minus sandbox-chat and sandbox-flaky (broken on purpose in the sandbox: their
# failures would be the sandbox's, not new-api's). OpenAI-channel models first, as in peers/litellm.
MODELS=sandbox-omni,sandbox-embed,sandbox-image,sandbox-rerank,claude-sandbox,gemini-sandbox
RECORD=""
if [ "${1:-}" = "--record" ]; then
  RECORD="--record"
  shift
fi

if [ -z "${NEW_API_BIN:-}" ] && [ -z "${NEW_API_URL:-}" ]; then
  echo "run.sh: set NEW_API_BIN (a new-api binary you built) or NEW_API_URL (a new-api you started)" >&2
  exit 2
fi
if [ -n "${NEW_API_COMMIT:-}" ] && ! [[ $NEW_API_COMMIT =~ ^[0-9a-f]{40}$ ]]; then
  echo "run.sh: NEW_API_COMMIT must be the 40-hex commit new-api was built from" >&2
  exit 2
fi
if [ -n "$RECORD" ] && [ -z "${NEW_API_COMMIT:-}" ]; then
  echo "run.sh: --record needs NEW_API_COMMIT (the 40-hex commit of the binary): _run.json names it" >&2
  exit 2
fi

if [ -n "${NEW_API_BIN:-}" ] && [ -z "${OIMI_PEER_NETNS:-}" ] && command -v unshare >/dev/null 2>&1 \
    && command -v ip >/dev/null 2>&1 && unshare -n sh -c 'ip link set lo up' 2>/dev/null; then
  # re-run this script inside a network namespace with only loopback: nothing can leave the machine
  exec env OIMI_PEER_NETNS=1 unshare -n bash -c 'ip link set lo up && exec "$0" "$@"' "$0" $RECORD "$@"
fi
if [ -n "${NEW_API_BIN:-}" ] && [ -z "${OIMI_PEER_NETNS:-}" ]; then
  echo "run.sh: no network namespace (unshare -n needs root and ip): new-api listens on all interfaces" >&2
  exit 3
fi

OIMI=${OIMI:-$(command -v oimi-conformance || echo "$ROOT/.venv/bin/oimi-conformance")}
PYTHON_HARNESS=${PYTHON_HARNESS:-$(dirname "$OIMI")/python}
mkdir -p "$WORK"
chmod 700 "$WORK"
KEYS="$WORK/keys.json"  # written by seed.py, 0600; never printed
rm -f "$KEYS"


# The sandbox plays the providers: its reference behaviour when the CLI has that mode.
sandbox_mode=()
if "$OIMI" sandbox --help 2>/dev/null | grep -q -- '--mode'; then
  sandbox_mode=(--mode reference)
fi
if listening "$SANDBOX_PORT"; then
  echo "run.sh: 127.0.0.1:$SANDBOX_PORT is taken; set SANDBOX_PORT" >&2
  exit 3
fi
"$OIMI" sandbox --port "$SANDBOX_PORT" "${sandbox_mode[@]}" >"$WORK/sandbox.log" 2>&1 &
pids+=($!)

if [ -n "${NEW_API_BIN:-}" ]; then
  if listening "$NEW_API_PORT"; then
    echo "run.sh: 127.0.0.1:$NEW_API_PORT is taken; set NEW_API_PORT" >&2
    exit 3
  fi
  rm -f "$WORK"/new-api.db*
  NEW_API_URL="http://127.0.0.1:$NEW_API_PORT"
  # A fresh SQLite database each run (SQL_DSN unset); no Redis; secrets that live as long as the run.
  (cd "$WORK" && exec env -u SQL_DSN -u REDIS_CONN_STRING PORT="$NEW_API_PORT" \
    SQLITE_PATH="$WORK/new-api.db?_busy_timeout=30000" \
    SESSION_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(24))')" \
    "$NEW_API_BIN" --log-dir "$WORK/logs") >"$WORK/new-api.log" 2>&1 &
  pids+=($!)
fi
for _ in $(seq 1 120); do  # bounded: 30 s for the sandbox
  listening "$SANDBOX_PORT" && break
  sleep 0.25
done

started=$(date +%s)
if ! python3 "$HERE/seed.py" --base-url "$NEW_API_URL" --upstream "http://127.0.0.1:$SANDBOX_PORT" \
    --out "$KEYS"; then
  echo "run.sh: seeding new-api failed; its log:" >&2
  tail -30 "$WORK/new-api.log" >&2 2>/dev/null || true
  exit 3
fi
echo "new-api seeded in $(( $(date +%s) - started )) s"

# The keys, by role, into the environment of the harness only.
role() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["keys"][sys.argv[2]])' "$KEYS" "$1"; }
OIMI_API_KEY=$(role main)
export OIMI_API_KEY
version=$(python3 - "$NEW_API_URL" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1].rstrip("/") + "/api/status", timeout=5) as r:
    print(json.load(r)["data"].get("version", ""))
PY
)
echo "new-api $version (commit ${NEW_API_COMMIT:-unknown}) on $NEW_API_URL"

expectations=()
if [ -f "$ROOT/specs/expectations/new-api.toml" ]; then  # new-api's known deviations, strictly
  expectations=(--expectations new-api --strict-expectations)
fi
set +e
"$OIMI" run --base-url "$NEW_API_URL" --target-name new-api --profile oimi "${expectations[@]}" --sdk \
  --restricted-key "$(role restricted)" --no-quota-key "$(role no_quota)" \
  --rate-limited-key "$(role rate_limited)" --models "$MODELS" --exclude-checks 'delivery.*' \
  --report-dir "$REPORT_DIR" --cassette-dir "$ROOT/cassettes/new-api" $RECORD "$@"
status=$?
set -e

# What was run, beside the harness's own meta: the peer's commit and the version it reports.
python3 - "$REPORT_DIR/peer-version.json" "$ROOT/cassettes/new-api/_run.json" "$version" \
  "${NEW_API_COMMIT:-}" "$RECORD" <<'PY'
import json, pathlib, sys
out, run_json, version, commit, record = sys.argv[1:6]
peer = {"name": "new-api", "repository": "QuantumNous/new-api", "commit": commit or None, "version": version}
pathlib.Path(out).parent.mkdir(parents=True, exist_ok=True)
pathlib.Path(out).write_text(json.dumps(peer, indent=1) + "\n", encoding="utf-8")
meta_path = pathlib.Path(run_json)
if record and meta_path.is_file():
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["peer"] = peer
    meta_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
PY
if [ -n "$RECORD" ]; then  # a new recording: the verdict its replay must reproduce (tests/test_peer_new_api.py)
  "$PYTHON_HARNESS" "$HERE/verdict.py" "$REPORT_DIR"
fi
exit "$status"
