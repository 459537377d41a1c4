#!/usr/bin/env bash
# Two builds of the USSD hop served side by side: this checkout's and an
# earlier commit's, each answering the same hops from the same partner on
# the same two cores, alternating ROUNDS times, and this build's rate over
# the other's reported per row (median and every round), then what each
# hop costs each server in CPU.
#
# Run with: bash benches/side_by_side.sh REV   (needs wrk and redis-server: apt-get install wrk redis-server;
# REV is a commit whose `serve` takes the options used below, 8c1b90b or
# later, e.g. HEAD~3; ROUNDS=5 for a tighter median)
#
# Why: a change worth a few per cent of a hop is smaller than the drift of
# this VM's host between two runs of ussd_load.sh (up to 20 % between two
# 8-second runs), so a ratio against the bare handler measured in one run
# and compared with another run's cannot show it. Alternating the two
# builds round by round puts them on the same host moments. It says
# nothing about the budgets (ussd_load.sh does); it says whether a change
# moved the served hop, and how much against its rounds' spread.
#
# The earlier build is made from a throwaway worktree of REV, in a target
# directory of its own (target/side-by-side: the first run builds every
# dependency there, ~8 minutes on 2 cores), and copied out.
set -euo pipefail
cd "$(dirname "$0")/.."
REV=${1:?usage: bash benches/side_by_side.sh REV}
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-4}
tmp=$(mktemp -d)
target=$(pwd)/target
short=$(git rev-parse --short "$REV")
source benches/servers.sh
# The worktree goes whatever stops the script (servers.sh's trap only
# stops the servers).
trap 'cleanup; git worktree remove --force "$tmp/old" 2>/dev/null || true' EXIT
git worktree add -q --detach "$tmp/old" "$REV"
# In a target directory of its own (kept, so a second run is incremental):
# cargo names a package's outputs without its path, so REV built in this
# checkout's directory left its library and fingerprints in our build's
# place, and this checkout's build, taken as fresh, linked REV's library
# (the rows compared REV with itself).
(cd "$tmp/old" && CARGO_TARGET_DIR="$target/side-by-side" cargo build --release --quiet --bin connectflow 2>"$tmp/old-build.log") ||
  { cat "$tmp/old-build.log" >&2; exit 1; }
cp "$target/side-by-side/release/connectflow" "$tmp/connectflow-old"
git worktree remove --force "$tmp/old"
cargo build --release --quiet --bin connectflow
cp target/release/connectflow "$tmp/connectflow-new"
NEW=$tmp/connectflow-new
OLD=$tmp/connectflow-old
# A REV whose source builds the same binary compares it with itself,
# which is said rather than measured in silence.
if cmp -s "$OLD" "$NEW"; then
  echo "warning: the two builds are the same binary; the rows compare it with itself" >&2
fi

export CONNECTFLOW_GATEWAY_TOKEN=bench
LIMITS="--phone-limit 0 --source-limit 0"
"$NEW" sandbox --addr 127.0.0.1:18285 >"$tmp/sandbox.log" 2>&1 & pids+=($!)
wait_line "$tmp/sandbox.log"
export MONO_SEC_KEY=test_sk_connectflow_sandbox
LIMITS="$LIMITS --base-url http://127.0.0.1:18285"
# Each build growing (sessions live 10 minutes) and at steady state
# (sessions expire 2 s after their hop), as in ussd_load.sh.
"$OLD" serve --addr 127.0.0.1:18281 --store memory $LIMITS --records "sqlite:$tmp/old.db" >"$tmp/old.log" 2>&1 & old_pid=$!; pids+=($!)
"$NEW" serve --addr 127.0.0.1:18282 --store memory $LIMITS --records "sqlite:$tmp/new.db" >"$tmp/new.log" 2>&1 & new_pid=$!; pids+=($!)
"$OLD" serve --addr 127.0.0.1:18283 --store memory $LIMITS --session-ttl 2 --claim-lease 2 --records "sqlite:$tmp/olds.db" >"$tmp/olds.log" 2>&1 & pids+=($!)
"$NEW" serve --addr 127.0.0.1:18284 --store memory $LIMITS --session-ttl 2 --claim-lease 2 --records "sqlite:$tmp/news.db" >"$tmp/news.log" 2>&1 & pids+=($!)
# On Redis, each build with a redis-server of its own (as ussd_load.sh's
# rows): the first hop (a read of two keys) and the bank choice (a new
# session and its index in one round trip).
redis-server --port 16381 --save "" --appendonly no --dir "$tmp" >"$tmp/redis-old.log" 2>&1 & redis_old=$!; pids+=($!)
redis-server --port 16382 --save "" --appendonly no --dir "$tmp" >"$tmp/redis-new.log" 2>&1 & redis_new=$!; pids+=($!)
wait_redis 16381; wait_redis 16382
CONNECTFLOW_SEAL_KEY=$(printf '%064d' 7) "$OLD" serve --addr 127.0.0.1:18286 --store redis://127.0.0.1:16381 $LIMITS --records "sqlite:$tmp/oldr.db" >"$tmp/oldr.log" 2>&1 & oldr_pid=$!; pids+=($!)
CONNECTFLOW_SEAL_KEY=$(printf '%064d' 7) "$NEW" serve --addr 127.0.0.1:18287 --store redis://127.0.0.1:16382 $LIMITS --records "sqlite:$tmp/newr.db" >"$tmp/newr.log" 2>&1 & newr_pid=$!; pids+=($!)
for log in old new olds news oldr newr; do wait_line "$tmp/$log.log"; done

rps() { # port script
  # Warm up (the first hop fetches the bank list from the sandbox).
  curl -s -o /dev/null -H "Authorization: Bearer bench" -d "sessionId=warm$RANDOM&phoneNumber=%2B1&text=" "http://127.0.0.1:$1/ussd"
  wrk_rate "http://127.0.0.1:$1" "benches/ussd/$2.lua"
}
old() { rps "$1" "$3"; }
new() { rps "$2" "$3"; }
fill_steady http://127.0.0.1:18283 http://127.0.0.1:18284
printf '| hop (wrk -t1 -c%s, %s each, %s rounds) | this build, hops/s (median) | %s, hops/s (median) | this build / %s: median (each round) | |\n|---|---|---|---|---|\n' \
  "$CONNECTIONS" "$DURATION" "$ROUNDS" "$short" "$short"
# `rounds` (servers.sh) reports its fourth argument's rate over its third's.
rounds "first hop, memory store" "" old new 18281 18282 hop
rounds "bank choice, memory store" "" old new 18281 18282 bank
rounds "bank choice at steady state, memory store" "" old new 18283 18284 bank
rounds "first hop, Redis store" "" old new 18286 18287 hop
rounds "bank choice, Redis store" "" old new 18286 18287 bank

echo
printf '| hop (wrk -t1 -c%s, %s) | hops/s | server CPU a hop (µs) | redis-server CPU a hop (µs) |\n|---|---|---|---|\n' "$CONNECTIONS" "$DURATION"
for _ in 1 2; do
  cpu_row "bank choice, $short" http://127.0.0.1:18281 bank "$old_pid"
  cpu_row "bank choice, this build" http://127.0.0.1:18282 bank "$new_pid"
  cpu_row "first hop on Redis, $short" http://127.0.0.1:18286 hop "$oldr_pid" "$redis_old"
  cpu_row "first hop on Redis, this build" http://127.0.0.1:18287 hop "$newr_pid" "$redis_new"
  cpu_row "bank choice on Redis, $short" http://127.0.0.1:18286 bank "$oldr_pid" "$redis_old"
  cpu_row "bank choice on Redis, this build" http://127.0.0.1:18287 bank "$newr_pid" "$redis_new"
done
