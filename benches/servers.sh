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
# fill_steady URL...: each USSD server brought to steady state before its
# steady-state rows (4 s of bank choices: past a 2-second session TTL, and
# past a recycling floor's 200,000), after one first hop to warm it.
fill_steady() {
  local url
  for url in "$@"; do
    curl -s -o /dev/null -H "Authorization: Bearer bench" -d "sessionId=warm$RANDOM&phoneNumber=%2B1&text=" "$url/ussd"
    wrk -t1 -c"$CONNECTIONS" -d4s -s benches/ussd/bank.lua "$url" >/dev/null
  done
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
# ticks PID...: CPU time (user + system, every thread, in clock ticks) the
# processes have used; the fields after the command name, which may hold
# spaces, counted from its closing parenthesis.
ticks() {
  local sum=0 p
  for p in "$@"; do sum=$((sum + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat"))); done
  echo "$sum"
}
# cpu_row LABEL URL SCRIPT SERVER_PID [REDIS_PID]: one wrk run, and what
# each request cost the server (and redis-server) in CPU, from /proc. On a
# machine whose cores the load tool and Redis share with the server, a
# ratio of throughputs mixes everyone's costs; this is the server's own.
cpu_row() {
  local label=$1 url=$2 script=$3 server=$4 redis=${5:-} hz s0 r0=0 out n rate s1 r1=0
  hz=$(getconf CLK_TCK)
  s0=$(ticks "$server"); [ -n "$redis" ] && r0=$(ticks "$redis")
  out=$(wrk_checked "$url" "benches/ussd/$script.lua")
  s1=$(ticks "$server"); [ -n "$redis" ] && r1=$(ticks "$redis")
  n=$(awk '/requests in/ {print $1}' <<<"$out"); rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  printf '| %s | %.0f | %.1f | %s |\n' "$label" "$rate" "$(echo "($s1 - $s0) * 1000000 / $hz / $n" | bc -l)" \
    "$([ -n "$redis" ] && printf '%.1f' "$(echo "($r1 - $r0) * 1000000 / $hz / $n" | bc -l)" || echo —)"
}
# wrk_checked URL SCRIPT: wrk's report, or the script stops when any reply
# was not a 2xx or nothing was served (a rate of refusals, or of nothing,
# is not a measurement).
wrk_checked() {
  local out
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s "$2" "$1")
  if grep -q "Non-2xx" <<<"$out" || ! grep -q "Requests/sec" <<<"$out" || grep -q "^ *0 requests in" <<<"$out"; then
    echo "wrk against $1 ($2) did not measure served requests:" >&2
    echo "$out" >&2
    return 1
  fi
  echo "$out"
}
# wrk_rate URL SCRIPT: requests a second, checked as above.
wrk_rate() {
  local out
  out=$(wrk_checked "$1" "$2") || return 1
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}
# park_link URL KEY: a link session parked on Sandbox Bank's login form
# (seq 1: the institution chosen), made with the host's API key KEY;
# prints its link token, or fails.
park_link() {
  local token
  token=$(curl -sf -H "Authorization: Bearer $2" -H "content-type: application/json" \
    -d '{"customer":{"id":"bench"}}' "$1/link/v1/tokens" |
    sed -n 's/.*"link_token":"\([^"]*\)".*/\1/p')
  [ -n "$token" ] || { echo "park_link: no link token from $1" >&2; return 1; }
  curl -sf -o /dev/null -H "Authorization: Bearer $token" "$1/link/v1/session" &&
    curl -sf -o /dev/null -H "Authorization: Bearer $token" -H "content-type: application/json" \
      -d '{"seq":0,"action":{"type":"choose_institution","institution":"sandbox-bank"}}' \
      "$1/link/v1/session/actions" ||
    { echo "park_link: the session at $1 could not be parked" >&2; return 1; }
  echo "$token"
}
