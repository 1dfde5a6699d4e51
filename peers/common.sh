# Shared by the peers' run.sh (sourced, not run): waiting for a port, and stopping what a run started.
# A peer's run.sh appends the pid of each process it starts to `pids`; the EXIT trap stops them all.

listening() {  # something accepts connections on 127.0.0.1:$1
  python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" \
    2>/dev/null
}

pids=()
cleanup() {
  for pid in "${pids[@]}"; do  # a gateway may run under strace: stop the traced child first
    for child in $(pgrep -P "$pid" 2>/dev/null || true); do kill "$child" 2>/dev/null || true; done
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# The strace prefix that logs every connect() a gateway makes into $1/connect.log, in `trace` (empty where
# strace is missing); start the gateway with "${trace[@]}" in front, then prove it with loopback_only.
trace=()
trace_connects() {
  if command -v strace >/dev/null 2>&1; then
    trace=(strace -f -qq --seccomp-bpf -e trace=connect -o "$1/connect.log")
  fi
}

# Every connect() the traced gateway made went to loopback; else exit 3. $1: the gateway's name; $2: the
# folder given to trace_connects. Without strace, says so (best effort, as the docs promise).
loopback_only() {
  local name=$1 work=$2 outbound
  if [ ${#trace[@]} -eq 0 ]; then
    echo "run.sh: strace not found: $name's connect() calls were not logged"
    return 0
  fi
  outbound=$(grep -h 'connect(' "$work"/connect.log* | grep -v 'AF_UNIX' | grep -v '127\.0\.0\.1' \
    | grep -v 'inet_pton(AF_INET6, "::1"' || true)
  if [ -n "$outbound" ]; then
    echo "run.sh: $name tried to reach the network:" >&2
    echo "$outbound" | head -20 >&2
    exit 3
  fi
  echo "$name made $(grep -h 'connect(' "$work"/connect.log* | grep -c 'AF_INET') connect() calls, all to 127.0.0.1"
}
