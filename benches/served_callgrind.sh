#!/usr/bin/env bash
# Instructions per request of each server as served (HTTP, the server's
# limits, the real store), counted by valgrind's callgrind: the served
# counterpart of ussd_callgrind.sh, and as stable. The throughput rows of
# ussd_load.sh drift with the host by more than most changes move them;
# these counts do not (the same binary and requests give the same count to
# within a percent), so a change to the served path, or the gap between
# ours and a floor, can be read off directly.
#
# Run with: bash benches/served_callgrind.sh   (needs valgrind and
# redis-server: apt-get install valgrind redis-server; N=400 requests each;
# the profiles are kept in the directory it prints last)
#
# Each server runs under callgrind with one worker thread (valgrind runs
# one thread at a time, so a second worker only adds its idle spinning to
# the count), takes 50 hops to warm up, has its counts zeroed, serves N
# hops from examples/hop_client.rs one after another on one kept-alive
# connection, and dumps. A request's count includes what the runtime does
# between two requests (waiting in epoll, waking): larger than under load,
# where requests overlap, but the same for every row, so the differences
# between rows are what each adds. Userspace only: the kernel's share
# (TCP on loopback, a quarter of a served hop's CPU, perf) is not counted.
#
# The link API's rows follow: its bare JSON handler (fixed_json, as in
# link_load.sh) and `GET /link/v1/session` and the refused submit (a 422)
# of a session parked on Sandbox Bank's login form, on each store. One
# caveat there: valgrind's CPU has no SHA extensions, so the SHA-256 of
# the link token (every request) and the action's HMAC (a submit) run in
# software, some 24,000 instructions of a 422's count that the host's
# SHA-NI does in a fraction (perf: 1.6 % of a 422's CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-400}
cargo build --release --quiet --bin connectflow --example fixed_con --example fixed_json --example hop_client
# BIN=path counts another build of the server (a before-and-after pair).
BIN=${BIN:-target/release/connectflow}
CLIENT=target/release/examples/hop_client
source benches/servers.sh
tmp=$(mktemp -d)
export CONNECTFLOW_GATEWAY_TOKEN=bench MONO_SEC_KEY=test_sk_connectflow_sandbox
LIMITS="--phone-limit 0 --source-limit 0"
"$BIN" sandbox --addr 127.0.0.1:18205 >"$tmp/sandbox.log" 2>&1 & pids+=($!)
wait_line "$tmp/sandbox.log"
LIMITS="$LIMITS --base-url http://127.0.0.1:18205"
redis-server --port 16396 --save "" --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 & pids+=($!)
wait_redis 16396
# The Redis floor writes to a redis-server of its own, as in ussd_load.sh.
redis-server --port 16395 --save "" --appendonly no --dir "$tmp" >"$tmp/redis-floor.log" 2>&1 & pids+=($!)
wait_redis 16395

KEY=ck_bench_host_key

# count LABEL PORT KIND -- COMMAND...: prints a row with the count a
# request. For the link API's kinds (session, submit), PARK=yes parks a
# session first and sends its token (the bare handler takes any).
count() {
  local label=$1 port=$2 kind=$3; shift 4
  local out="$tmp/cg-$port-$kind.out" log="$tmp/cg-$port-$kind.log" vpid total said
  local token=(--token bench)
  TOKIO_WORKER_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >"$log" 2>&1 &
  vpid=$!; pids+=("$vpid")
  # Under valgrind a server takes seconds to start.
  for _ in $(seq 1 600); do
    grep -q "listening on" "$log" 2>/dev/null && break
    kill -0 "$vpid" 2>/dev/null || { echo "$label: the server exited:" >&2; cat "$log" >&2; return 1; }
    sleep 0.2
  done
  grep -q "listening on" "$log" || { echo "$label: the server did not start:" >&2; cat "$log" >&2; return 1; }
  if [ "${PARK:-no}" = yes ]; then
    said=$(park_link "http://127.0.0.1:$port" "$KEY") || { echo "$label: no session parked" >&2; return 1; }
    token=(--token "$said")
  fi
  "$CLIENT" "http://127.0.0.1:$port" 50 "$kind" "${token[@]}"
  # Quiet unless it fails (it says what it sends to whom on every call).
  said=$(callgrind_control -z "$vpid" 2>&1) || { echo "$label: $said" >&2; return 1; }
  "$CLIENT" "http://127.0.0.1:$port" "$N" "$kind" "${token[@]}"
  said=$(callgrind_control -d "$vpid" 2>&1) || { echo "$label: $said" >&2; return 1; }
  kill "$vpid"; wait "$vpid" 2>/dev/null || true
  # The dump after the zeroing is the first numbered part.
  [ -s "$out.1" ] || { echo "$label: no dump at $out.1" >&2; return 1; }
  total=$(grep -E '^(summary|totals):' "$out.1" | head -1 | awk '{print $2}')
  [ -n "$total" ] || { echo "$label: no total in $out.1" >&2; return 1; }
  printf '| %s | %s |\n' "$label" "$((total / N))"
}

printf '| server, one request at a time (%s each) | instructions a request |\n|---|---|\n' "$N"
count "bare handler (fixed_con)" 18210 bank -- target/release/examples/fixed_con 127.0.0.1:18210
count "bare handler behind the server limits" 18211 bank -- target/release/examples/fixed_con --limits 127.0.0.1:18211
count "first hop, memory store" 18212 first -- "$BIN" serve --addr 127.0.0.1:18212 --store memory $LIMITS --records "sqlite:$tmp/m1.db"
count "floor: keeping 682 bytes a request" 18213 bank -- target/release/examples/fixed_con --limits --keep 682 127.0.0.1:18213
count "bank choice, memory store" 18214 bank -- "$BIN" serve --addr 127.0.0.1:18214 --store memory $LIMITS --records "sqlite:$tmp/m2.db"
count "floor: a bank choice's Redis writes, through the store" 18215 bank -- target/release/examples/fixed_con --limits --redis redis://127.0.0.1:16395 127.0.0.1:18215
export CONNECTFLOW_SEAL_KEY=$(printf '%064d' 7)
count "first hop, Redis store" 18216 first -- "$BIN" serve --addr 127.0.0.1:18216 --store redis://127.0.0.1:16396 $LIMITS --records "sqlite:$tmp/r1.db"
count "bank choice, Redis store" 18217 bank -- "$BIN" serve --addr 127.0.0.1:18217 --store redis://127.0.0.1:16396 $LIMITS --records "sqlite:$tmp/r2.db"

# The link API. The bare handler answers with what a real server answered
# (as in link_load.sh): one served outside valgrind gives the two bodies.
unset CONNECTFLOW_SEAL_KEY
CONNECTFLOW_API_KEY=$KEY "$BIN" serve --addr 127.0.0.1:18220 --store memory $LIMITS --records "sqlite:$tmp/l0.db" >"$tmp/bodies.log" 2>&1 & bodies_pid=$!; pids+=($!)
wait_line "$tmp/bodies.log"
token=$(park_link http://127.0.0.1:18220 "$KEY")
curl -sf -H "Authorization: Bearer $token" http://127.0.0.1:18220/link/v1/session >"$tmp/session.json"
curl -s -H "Authorization: Bearer $token" -H "content-type: application/json" \
  -d '{"seq":1,"action":{"type":"submit","values":{"username":"user_good"}}}' \
  http://127.0.0.1:18220/link/v1/session/actions >"$tmp/invalid.json"
grep -q '"invalid_values"' "$tmp/invalid.json"
kill "$bodies_pid"
export CONNECTFLOW_API_KEY=$KEY
count "link: bare JSON handler, GET (fixed_json)" 18221 session -- target/release/examples/fixed_json 127.0.0.1:18221 "$tmp/session.json" "$tmp/invalid.json"
count "link: bare JSON handler, 422 (fixed_json)" 18222 submit -- target/release/examples/fixed_json 127.0.0.1:18222 "$tmp/session.json" "$tmp/invalid.json"
PARK=yes count "link: GET /link/v1/session, memory store" 18223 session -- "$BIN" serve --addr 127.0.0.1:18223 --store memory $LIMITS --records "sqlite:$tmp/l1.db"
PARK=yes count "link: 422 submit, memory store" 18224 submit -- "$BIN" serve --addr 127.0.0.1:18224 --store memory $LIMITS --records "sqlite:$tmp/l2.db"
export CONNECTFLOW_SEAL_KEY=$(printf '%064d' 7)
PARK=yes count "link: GET /link/v1/session, Redis store" 18225 session -- "$BIN" serve --addr 127.0.0.1:18225 --store redis://127.0.0.1:16396 $LIMITS --records "sqlite:$tmp/l3.db"
PARK=yes count "link: 422 submit, Redis store" 18226 submit -- "$BIN" serve --addr 127.0.0.1:18226 --store redis://127.0.0.1:16396 $LIMITS --records "sqlite:$tmp/l4.db"
echo "(profiles in $tmp: callgrind_annotate $tmp/cg-PORT-KIND.out.1)"
