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
