# Sourced by the load scripts in benches/: the servers a script starts are
# killed when it exits, and `wait_line FILE` waits for a server's
# `listening on` line in its log.
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_line() { # file
  for _ in $(seq 1 100); do grep -q "listening on" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "server did not start: $(cat "$1")" >&2; return 1
}
