#!/usr/bin/env bash
# Run the whole harness against Portkey's AI gateway (npm @portkey-ai/gateway, unmodified) in front of the
# sandbox gateway on loopback: Portkey routes real protocol traffic, the harness judges it.
#
#   peers/portkey/setup.sh                  # once: the gateway from package-lock.json (.peers/portkey)
#   peers/portkey/run.sh                    # live run, outcomes must match specs/expectations/portkey.toml
#   peers/portkey/run.sh --record           # the same, recording cassettes/portkey/
#
# Portkey is configured per request by one header, x-portkey-config (config.json, sent with --header):
# conditional routing sends /v1/messages... to an `anthropic` target and everything else to an `openai`
# target, both with the sandbox as custom_host and forward_headers passing the client's own key through,
# so the negative auth cases reach the upstream that refuses them.
#
# Portkey listens on all interfaces and has no host flag: it only ever runs inside a network namespace that
# has nothing but loopback (unshare -n, as root). Where strace exists every connect() it makes is logged and
# the run fails if it reached for any address that is not loopback.
# Exit status: the harness's (0 outcomes match the expectations, 1 they changed, 2 usage), or 3 when
# Portkey did not start, reached for the network, or no loopback-only namespace could be made.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=peers/common.sh
. "$HERE/../common.sh"  # listening, pids, cleanup on EXIT, trace_connects, loopback_only
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${PORTKEY_DIR:-$ROOT/.peers/portkey}
WORK=${PORTKEY_WORK:-$ROOT/.peers/portkey-run}
SANDBOX_PORT=${SANDBOX_PORT:-18787}
PORTKEY_PORT=${PORTKEY_PORT:-18788}
REPORT_DIR=${REPORT_DIR:-$WORK/report}
# The upstream's models: chat, Messages (via the anthropic target), embeddings, images and rerank models.
MODELS=sandbox-omni,sandbox-embed,sandbox-image,sandbox-rerank
RECORD=""
if [ "${1:-}" = "--record" ]; then
  RECORD="--record"
  shift
fi

if [ -z "${OIMI_PEER_NETNS:-}" ]; then
  if command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 \
      && unshare -n sh -c 'ip link set lo up' 2>/dev/null; then
    exec env OIMI_PEER_NETNS=1 unshare -n bash -c 'ip link set lo up && exec "$0" "$@"' "$0" $RECORD "$@"
  fi
  echo "run.sh: Portkey listens on every interface: it runs only in a loopback-only network namespace" \
       "(unshare -n and ip, as root)" >&2
  exit 3
fi

ENTRY="$DIR/node_modules/@portkey-ai/gateway/build/start-server.js"
if [ ! -f "$ENTRY" ]; then
  echo "run.sh: no Portkey gateway at $DIR; run peers/portkey/setup.sh first" >&2
  exit 3
fi
OIMI=${OIMI:-$(command -v oimi-conformance || echo "$ROOT/.venv/bin/oimi-conformance")}
mkdir -p "$WORK"
rm -f "$WORK"/connect.log*

# The client's key is the sandbox's: Portkey forwards it (forward_headers), the sandbox checks it.
export OIMI_API_KEY=sk-sandbox-valid
SANDBOX="http://127.0.0.1:$SANDBOX_PORT"
# config.json on one line, with the sandbox's address in place of {SANDBOX}
CONFIG=$(python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1])), separators=(",", ":")).replace("{SANDBOX}", sys.argv[2]))' \
  "$HERE/config.json" "$SANDBOX")


"$OIMI" sandbox --mode reference --port "$SANDBOX_PORT" >"$WORK/sandbox.log" 2>&1 &
pids+=($!)

trace_connects "$WORK"  # common.sh: sets `trace`, the strace prefix (empty without strace)
started=$(date +%s.%N)
(cd "$DIR" && exec "${trace[@]}" node "$ENTRY" --port="$PORTKEY_PORT") >"$WORK/portkey.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 240); do  # bounded: 60 s
  listening "$SANDBOX_PORT" && listening "$PORTKEY_PORT" && break
  sleep 0.25
done
if ! listening "$PORTKEY_PORT"; then
  echo "run.sh: Portkey did not listen within 60 s; its log:" >&2
  tail -40 "$WORK/portkey.log" >&2
  exit 3
fi
version=$(node -p "require('$DIR/node_modules/@portkey-ai/gateway/package.json').version")
echo "portkey $version ready on 127.0.0.1:$PORTKEY_PORT in $(python3 -c "import time; print(round(time.time() - $started, 1))") s"

set +e
"$OIMI" run --base-url "http://127.0.0.1:$PORTKEY_PORT" --header "x-portkey-config: $CONFIG" \
  --target-name portkey --profile openai-compatible --expectations portkey --strict-expectations --sdk \
  --models "$MODELS" --exclude-checks 'delivery.*' \
  --report-dir "$REPORT_DIR" --cassette-dir "$ROOT/cassettes/portkey" $RECORD "$@"
status=$?
set -e
echo "@portkey-ai/gateway $version" >"$REPORT_DIR/peer-version.txt"
if [ -n "$RECORD" ] && [ "$status" -eq 0 ]; then  # a new recording: regenerate the committed report
  "${PYTHON_HARNESS:-$(dirname "$OIMI")/python}" "$HERE/report.py" "$REPORT_DIR"
fi

loopback_only Portkey "$WORK"
exit "$status"
