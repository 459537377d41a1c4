#!/usr/bin/env bash
# How far a cheaper session record could take the bank-choice hop (issue
# 13's 70 % budget): the hop as built, and the same hop in a build whose
# record costs nothing (benches/record_ceiling.patch: no encoding, no
# sealing; its records unreadable, so it is measured, never shipped), side
# by side in one run against the same bare handler, each ROUNDS times.
#
# Run with: bash benches/record_ceiling.sh   (needs wrk: apt-get install wrk)
#
# The patched build is made from a throwaway worktree of HEAD, in this
# checkout's target directory (its dependencies shared), and copied out
# before the build as it is is made again.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-32}
tmp=$(mktemp -d)
target=$(pwd)/target
git worktree add -q "$tmp/free" HEAD
git -C "$tmp/free" apply "$(pwd)/benches/record_ceiling.patch"
# Its warnings (the record code it leaves unused) are kept out of the table.
(cd "$tmp/free" && CARGO_TARGET_DIR="$target" cargo build --release --quiet --bin connectflow 2>"$tmp/free-build.log") ||
  { cat "$tmp/free-build.log" >&2; exit 1; }
cp "$target/release/connectflow" "$tmp/connectflow-free"
git worktree remove --force "$tmp/free"
cargo build --release --quiet --bin connectflow --example fixed_con
BIN=target/release/connectflow
FREE=$tmp/connectflow-free
source benches/servers.sh

export CONNECTFLOW_GATEWAY_TOKEN=bench
LIMITS="--phone-limit 0 --source-limit 0"
"$BIN" sandbox --addr 127.0.0.1:18185 >"$tmp/sandbox.log" 2>&1 & pids+=($!)
wait_line "$tmp/sandbox.log"
export MONO_SEC_KEY=test_sk_connectflow_sandbox
LIMITS="$LIMITS --base-url http://127.0.0.1:18185"
target/release/examples/fixed_con 127.0.0.1:18182 >"$tmp/bare.log" 2>&1 & pids+=($!)
target/release/examples/fixed_con --limits --keep 682 127.0.0.1:18186 >"$tmp/keep.log" 2>&1 & pids+=($!)
target/release/examples/fixed_con --limits --keep 682 --recycle 200000 127.0.0.1:18188 >"$tmp/keep-steady.log" 2>&1 & pids+=($!)
# Each build: growing (sessions live 10 minutes) and at steady state
# (sessions expire 2 s after their hop), as in ussd_load.sh.
"$BIN" serve --addr 127.0.0.1:18181 --store memory $LIMITS --records "sqlite:$tmp/a.db" >"$tmp/built.log" 2>&1 & built_pid=$!; pids+=($!)
"$BIN" serve --addr 127.0.0.1:18189 --store memory $LIMITS --session-ttl 2 --claim-lease 2 --records "sqlite:$tmp/b.db" >"$tmp/built-steady.log" 2>&1 & built_steady_pid=$!; pids+=($!)
"$FREE" serve --addr 127.0.0.1:18191 --store memory $LIMITS --records "sqlite:$tmp/c.db" >"$tmp/free.log" 2>&1 & free_pid=$!; pids+=($!)
"$FREE" serve --addr 127.0.0.1:18199 --store memory $LIMITS --session-ttl 2 --claim-lease 2 --records "sqlite:$tmp/d.db" >"$tmp/free-steady.log" 2>&1 & free_steady_pid=$!; pids+=($!)
for log in bare keep keep-steady built built-steady free free-steady; do wait_line "$tmp/$log.log"; done

rps() {
  curl -s -o /dev/null -H "Authorization: Bearer bench" -d "sessionId=warm$RANDOM&phoneNumber=%2B1&text=" "$1/ussd"
  wrk_rate "$1" "benches/ussd/$2.lua"
}
bare() { rps http://127.0.0.1:18182 hop; }
ours() { rps "$1" "$2"; }
row() { rounds "$1" "$4" bare ours "$2" "$3"; }
printf '| bank choice (wrk -t1 -c%s, %s each, %s rounds) | hops/s (median) | bare (median) | vs bare: median (each round) | budget |\n|---|---|---|---|---|\n' "$CONNECTIONS" "$DURATION" "$ROUNDS"
row "floor: keeping 682 bytes a request" http://127.0.0.1:18186 bank "—"
row "as built, memory store" http://127.0.0.1:18181 bank "≥ 70 %"
row "record free, memory store" http://127.0.0.1:18191 bank "≥ 70 %"
fill_steady http://127.0.0.1:18188 http://127.0.0.1:18189 http://127.0.0.1:18199
row "floor at steady state" http://127.0.0.1:18188 bank "—"
row "as built, steady state" http://127.0.0.1:18189 bank "≥ 70 %"
row "record free, steady state" http://127.0.0.1:18199 bank "≥ 70 %"
echo
printf '| bank choice (wrk -t1 -c%s, %s) | hops/s | server CPU a hop (µs) | — |\n|---|---|---|---|\n' "$CONNECTIONS" "$DURATION"
cpu_row "as built, steady state" http://127.0.0.1:18189 bank "$built_steady_pid"
cpu_row "record free, steady state" http://127.0.0.1:18199 bank "$free_steady_pid"
cpu_row "as built, memory store" http://127.0.0.1:18181 bank "$built_pid"
cpu_row "record free, memory store" http://127.0.0.1:18191 bank "$free_pid"
