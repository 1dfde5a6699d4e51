#!/usr/bin/env bash
# Install LiteLLM's proxy, unmodified, in its own virtual environment (its pins clash with ours).
# Reproducible: versions come from constraints.txt (regenerate it with `setup.sh --refresh`).
# Usage: peers/litellm/setup.sh [--refresh]     env: LITELLM_VENV (default .peers/litellm-venv), PYTHON
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VENV=${LITELLM_VENV:-$ROOT/.peers/litellm-venv}
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3

started=$(date +%s)
if [ "${1:-}" = "--refresh" ]; then
  rm -rf "$VENV"
fi
pinned=$(sha256sum "$HERE/constraints.txt" | cut -d' ' -f1)
if [ -x "$VENV/bin/litellm" ] && [ "${1:-}" != "--refresh" ] && [ "$(cat "$VENV/.constraints.sha256" 2>/dev/null)" = "$pinned" ]
then
  echo "litellm: $VENV is current ($(grep '^litellm==' "$HERE/constraints.txt"))"
  exit 0
fi
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
if [ "${1:-}" = "--refresh" ]; then
  # newest litellm[proxy]; prisma so that a wrong key is answered cleanly instead of a missing-module error
  "$VENV/bin/python" -m pip install --quiet 'litellm[proxy]' prisma
  "$VENV/bin/python" -m pip freeze --exclude-editable | sort > "$HERE/constraints.txt"
else
  "$VENV/bin/python" -m pip install --quiet 'litellm[proxy]' prisma -c "$HERE/constraints.txt"
fi
sha256sum "$HERE/constraints.txt" | cut -d' ' -f1 >"$VENV/.constraints.sha256"
echo "litellm: installed $("$VENV/bin/python" -m pip freeze | grep '^litellm==') into $VENV in $(( $(date +%s) - started )) s"
