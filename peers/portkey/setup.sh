#!/usr/bin/env bash
# Install Portkey's AI gateway (npm @portkey-ai/gateway), unmodified, from the committed package-lock.json.
# package.json pins @hono/node-server 1.14.1 and @hono/node-ws 1.2.0 with npm `overrides`: the versions
# npm resolves by default (@hono/node-server 1.19.x) make every stream, pass-through route and successful
# embeddings call answer 500 `TypeError: immutable` (Portkey-AI/gateway issues #1389 and #1550).
# Usage: peers/portkey/setup.sh [--refresh]     env: PORTKEY_DIR (default .peers/portkey)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${PORTKEY_DIR:-$ROOT/.peers/portkey}
command -v npm >/dev/null 2>&1 || { echo "setup.sh: npm (Node.js 18+) is needed" >&2; exit 1; }

started=$(date +%s)
mkdir -p "$DIR"
if [ "${1:-}" = "--refresh" ]; then  # re-resolve within package.json's pins; commit the new lock file
  rm -rf "$DIR/node_modules" "$HERE/package-lock.json"
  cp "$HERE/package.json" "$DIR/"
  (cd "$DIR" && npm install --no-audit --no-fund --ignore-scripts --silent)
  cp "$DIR/package-lock.json" "$HERE/package-lock.json"
else
  pinned=$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ -f "$DIR/node_modules/@portkey-ai/gateway/build/start-server.js" ] && [ "$(cat "$DIR/.lock.sha256" 2>/dev/null)" = "$pinned" ]
  then
    echo "portkey: $DIR is current"
    exit 0
  fi
  cp "$HERE/package.json" "$HERE/package-lock.json" "$DIR/"
  # npm ci: exactly the lock file; no install scripts (the package ships its build)
  (cd "$DIR" && npm ci --no-audit --no-fund --ignore-scripts --silent)
  echo "$pinned" >"$DIR/.lock.sha256"
fi
version=$(node -p "require('$DIR/node_modules/@portkey-ai/gateway/package.json').version")
echo "portkey: installed @portkey-ai/gateway $version into $DIR in $(( $(date +%s) - started )) s"
