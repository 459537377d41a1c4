# Sourced by the load scripts in benches/: the servers a script starts are
# killed when it exits, and `wait_line FILE` waits for a server's
# `listening on` line in its log.
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_redis() { # port
  for _ in $(seq 1 100); do redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done
  echo "redis-server on port $1 did not start" >&2; return 1
}
wait_line() { # file
  for _ in $(seq 1 100); do grep -q "listening on" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "server did not start: $(cat "$1")" >&2; return 1
}
# `ratio_rows` support: ROUNDS (default 3) alternations of a bare run and
# ours, the median ratio reported with every round's: on this VM one pair of
# runs drifts by as much as the effects measured.
ROUNDS=${ROUNDS:-3}
# median of the numbers given as arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# rounds LABEL BUDGET BARE_FN OURS_FN [ARGS...]: each FN prints one rate
rounds() {
  local label=$1 budget=$2 bare_fn=$3 ours_fn=$4; shift 4
  local bares=() ourses=() ratios=() b o
  for _ in $(seq 1 "$ROUNDS"); do
    b=$($bare_fn "$@"); o=$($ours_fn "$@")
    bares+=("$b"); ourses+=("$o"); ratios+=("$(echo "$o * 100 / $b" | bc -l)")
  done
  local each
  each=$(printf '%.0f %% ' "${ratios[@]}")
  printf '| %s | %.0f | %.0f | **%.0f %%** (%s) | %s |\n' "$label" "$(median "${ourses[@]}")" \
    "$(median "${bares[@]}")" "$(median "${ratios[@]}")" "${each% }" "$budget"
}
