#!/usr/bin/env bash
# Run the whole harness against LiteLLM's proxy, unmodified, whose every model has the sandbox
# gateway on loopback as its upstream: LiteLLM translates real protocol traffic, the harness judges it.
#
#   peers/litellm/setup.sh                  # once: LiteLLM in its own venv (.peers/litellm-venv)
#   peers/litellm/run.sh                    # live run, outcomes must match specs/expectations/litellm.toml
#   peers/litellm/run.sh --record           # the same, recording cassettes/litellm/ (then: report.py)
#
# Everything runs on 127.0.0.1. Where `unshare` works (root), the run happens in a fresh network
# namespace that has nothing but loopback, and where `strace` exists every connect() LiteLLM makes is
# logged: the run fails if LiteLLM tried to reach any address that is not loopback.
# Exit status: the harness's (0 outcomes match the expectations, 1 they changed, 2 usage), or 3 when
# LiteLLM did not start or reached for the network.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=peers/common.sh
. "$HERE/../common.sh"  # listening, pids, cleanup on EXIT, trace_connects, loopback_only
ROOT=$(cd "$HERE/../.." && pwd)
VENV=${LITELLM_VENV:-$ROOT/.peers/litellm-venv}
WORK=${LITELLM_WORK:-$ROOT/.peers/litellm}
SANDBOX_PORT=${SANDBOX_PORT:-18787}
LITELLM_PORT=${LITELLM_PORT:-14000}
REPORT_DIR=${REPORT_DIR:-$WORK/report}
# The models of config.yaml, in its order (LiteLLM's list has no supported_endpoint_types, so the SDK checks
# take the first model that serves an endpoint: OpenAI-upstream models first).
MODELS=sandbox-omni,sandbox-embed,sandbox-image,sandbox-rerank,claude-sandbox,gemini-sandbox
RECORD=""
if [ "${1:-}" = "--record" ]; then
  RECORD="--record"
  shift
fi

if [ -z "${OIMI_PEER_NETNS:-}" ] && command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 \
    && unshare -n sh -c 'ip link set lo up' 2>/dev/null; then
  # re-run this script inside a network namespace with only loopback: nothing can leave the machine
  exec env OIMI_PEER_NETNS=1 unshare -n bash -c 'ip link set lo up && exec "$0" "$@"' "$0" $RECORD "$@"
fi
if [ -z "${OIMI_PEER_NETNS:-}" ]; then
  echo "run.sh: no network namespace (unshare -n needs root and ip): running in the machine's own network"
fi

if [ ! -x "$VENV/bin/litellm" ]; then
  echo "run.sh: no LiteLLM at $VENV; run peers/litellm/setup.sh first" >&2
  exit 3
fi
OIMI=${OIMI:-$(command -v oimi-conformance || echo "$ROOT/.venv/bin/oimi-conformance")}
PYTHON_HARNESS=${PYTHON_HARNESS:-$(dirname "$OIMI")/python}
mkdir -p "$WORK"
rm -f "$WORK"/connect.log*

# The harness's key for LiteLLM (checked by custom_auth.py) and the sandbox's key (LiteLLM's upstream key).
export LITELLM_CONFORMANCE_KEY=sk-litellm-conformance-0123456789
export SANDBOX_KEY=sk-sandbox-valid
export SANDBOX_BASE="http://127.0.0.1:$SANDBOX_PORT"
export SANDBOX_OPENAI_BASE="$SANDBOX_BASE/v1"
export SANDBOX_GEMINI_BASE="$SANDBOX_BASE/v1beta"
# LiteLLM refuses to start without a master key; this one is never used by the harness.
LITELLM_MASTER_KEY="sk-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
export LITELLM_MASTER_KEY
# Offline: the cost map, beta headers, presets, blog posts and policy templates from the package,
# never fetched; no telemetry.
export LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS=True \
  LITELLM_LOCAL_AUTOROUTER_PRESETS=True LITELLM_LOCAL_BLOG_POSTS=True LITELLM_LOCAL_POLICY_TEMPLATES=True \
  DISABLE_TELEMETRY=True LITELLM_DONT_SHOW_FEEDBACK_BOX=True NO_PROXY="127.0.0.1,localhost"

for port in "$SANDBOX_PORT" "$LITELLM_PORT"; do
  if listening "$port"; then
    echo "run.sh: 127.0.0.1:$port is taken; set SANDBOX_PORT / LITELLM_PORT (or run as root: a namespace)" >&2
    exit 3
  fi
done


"$OIMI" sandbox --mode reference --port "$SANDBOX_PORT" >"$WORK/sandbox.log" 2>&1 &
pids+=($!)

trace_connects "$WORK"  # common.sh: sets `trace`, the strace prefix (empty without strace)
started=$(date +%s.%N)
(cd "$HERE" && exec "${trace[@]}" "$VENV/bin/litellm" --config "$HERE/config.yaml" --host 127.0.0.1 \
  --port "$LITELLM_PORT" --num_workers 1) >"$WORK/litellm.log" 2>&1 &
pids+=($!)

ready() {  # $1 answers HTTP 200
  python3 - "$1" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=1) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}
for _ in $(seq 1 240); do  # bounded: 60 s
  listening "$SANDBOX_PORT" && ready "http://127.0.0.1:$LITELLM_PORT/health/liveliness" && break
  sleep 0.25
done
if ! ready "http://127.0.0.1:$LITELLM_PORT/health/liveliness"; then
  echo "run.sh: LiteLLM did not become ready within 60 s; its log:" >&2
  tail -40 "$WORK/litellm.log" >&2
  exit 3
fi
version=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))')
echo "litellm $version ready on 127.0.0.1:$LITELLM_PORT in $(python3 -c "import time; print(round(time.time() - $started, 1))") s"

set +e
"$OIMI" run --base-url "http://127.0.0.1:$LITELLM_PORT" --api-key "$LITELLM_CONFORMANCE_KEY" \
  --target-name litellm --profile openai-compatible --expectations litellm --strict-expectations --sdk \
  --models "$MODELS" --exclude-checks 'delivery.*' \
  --report-dir "$REPORT_DIR" --cassette-dir "$ROOT/cassettes/litellm" $RECORD "$@"
status=$?
set -e
echo "litellm $version" >"$REPORT_DIR/peer-version.txt"
if [ -n "$RECORD" ] && [ "$status" -eq 0 ]; then  # a new recording: regenerate the committed report
  "$PYTHON_HARNESS" "$HERE/report.py" "$REPORT_DIR"
fi

loopback_only LiteLLM "$WORK"
exit "$status"
