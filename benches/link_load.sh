#!/usr/bin/env bash
# Link API throughput (DESIGN.md budget: GET /link/v1/session ≥ 70 % of a
# bare axum handler returning the same JSON, memory store; ≥ 50 % with
# Redis). Also a submit that stops at a field error (422: nothing sent to
# the partner, nothing written). Same machine, same load tool.
#
# Run with: bash benches/link_load.sh   (needs wrk and redis-server: apt-get install wrk redis-server)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-32}
cargo build --release --quiet --bin connectflow --example fixed_json
BIN=target/release/connectflow
KEY=ck_bench_host_key
source benches/servers.sh

tmp=$(mktemp -d)
# One partner both servers share (a Redis-backed serve refuses an embedded
# sandbox: instances sharing a store must share a partner).
"$BIN" sandbox --addr 127.0.0.1:18095 >"$tmp/sandbox.log" 2>&1 & pids+=($!)
wait_line "$tmp/sandbox.log"
export MONO_SEC_KEY=test_sk_connectflow_sandbox
PARTNER=(--base-url http://127.0.0.1:18095)
CONNECTFLOW_API_KEY=$KEY "$BIN" serve --addr 127.0.0.1:18091 --store memory "${PARTNER[@]}" --records "sqlite:$tmp/mem-records.db" >"$tmp/mem.log" 2>&1 & pids+=($!)
redis-server --port 16398 --save "" --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 & pids+=($!)
wait_redis 16398
CONNECTFLOW_API_KEY=$KEY CONNECTFLOW_SEAL_KEY=$(printf '%064d' 7) "$BIN" serve --addr 127.0.0.1:18093 \
  --store redis://127.0.0.1:16398 "${PARTNER[@]}" --records "sqlite:$tmp/redis-records.db" >"$tmp/redis-serve.log" 2>&1 & pids+=($!)
wait_line "$tmp/mem.log"; wait_line "$tmp/redis-serve.log"

MEM_TOKEN=$(park_link http://127.0.0.1:18091 "$KEY")
REDIS_TOKEN=$(park_link http://127.0.0.1:18093 "$KEY")

# The bare handler answers with exactly what the real endpoints answered.
curl -sf -H "Authorization: Bearer $MEM_TOKEN" http://127.0.0.1:18091/link/v1/session >"$tmp/session.json"
SUBMIT_BODY='{"seq":1,"action":{"type":"submit","values":{"username":"user_good"}}}'
curl -s -H "Authorization: Bearer $MEM_TOKEN" -d "$SUBMIT_BODY" \
  http://127.0.0.1:18091/link/v1/session/actions >"$tmp/invalid.json"
grep -q '"invalid_values"' "$tmp/invalid.json"
target/release/examples/fixed_json 127.0.0.1:18092 "$tmp/session.json" "$tmp/invalid.json" >"$tmp/bare.log" 2>&1 & pids+=($!)
wait_line "$tmp/bare.log"

# rps URL SCRIPT TOKEN: requests a second, or the script stops when a reply
# was not the row's: a 2xx for the view; for the submit, a refusal every
# time (wrk counts any status but a 2xx or 3xx) that is still the 422
# after the run (a token that stopped working would refuse with a 401).
rps() {
  local out n refused
  if [ "$2" = session ]; then
    out=$(LINK_TOKEN=$3 LINK_SEQ=1 wrk_checked "$1" "benches/link/$2.lua") || return 1
  else
    out=$(LINK_TOKEN=$3 LINK_SEQ=1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s "benches/link/$2.lua" "$1")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    refused=$(awk '/Non-2xx or 3xx responses/ {print $NF}' <<<"$out")
    if [ -z "$n" ] || [ "$n" = 0 ] || [ "$refused" != "$n" ] || [ "$(curl -s -o /dev/null -w '%{http_code}' \
      -H "Authorization: Bearer $3" -H "content-type: application/json" -d "$SUBMIT_BODY" "$1/link/v1/session/actions")" != 422 ]; then
      echo "wrk against $1 ($2) did not measure 422s:" >&2; echo "$out" >&2; return 1
    fi
  fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}
# The machine is a VM on a shared host: throughput drifts between runs. Each
# scenario is therefore compared with a bare run made just before it.
# Each row: ROUNDS alternations of the bare handler and ours, the median
# ratio reported (servers.sh: rounds), against the budget.
printf '| request (wrk -t1 -c%s, %s each, %s rounds) | req/s (median) | bare (median) | vs bare: median (each round) | budget |\n|---|---|---|---|---|\n' "$CONNECTIONS" "$DURATION" "$ROUNDS"
bare() { rps http://127.0.0.1:18092 "$2" "$3"; }
ours() { rps "$1" "$2" "$3"; }
row() { # label url script token budget
  rounds "$1" "$5" bare ours "$2" "$3" "$4"
}
row "GET /link/v1/session (login form), memory store" http://127.0.0.1:18091 session "$MEM_TOKEN" "≥ 70 %"
row "submit with a field error (422), memory store" http://127.0.0.1:18091 submit "$MEM_TOKEN" "—"
row "GET /link/v1/session (login form), Redis store" http://127.0.0.1:18093 session "$REDIS_TOKEN" "≥ 50 %"
row "submit with a field error (422), Redis store" http://127.0.0.1:18093 submit "$REDIS_TOKEN" "≥ 50 %"
