#!/usr/bin/env bash
# Whole USSD sessions under load (DESIGN.md budget: p99 hop latency under
# 50 ms at half of saturation). Each session is six Africa's Talking hops,
# first dial to linked (`user_otp`: bank, method, username, password, OTP),
# against one `connectflow serve` (memory store, SQLite records) and one
# `connectflow sandbox` as the partner, all on loopback on this machine.
#
# Run with: bash benches/ussd_sessions.sh   (DURATION=10 CONCURRENCY=32 by default)
#
# First a closed loop (CONCURRENCY phones back to back) finds saturation;
# then an open loop starts sessions at half that rate and reports the hop
# latency a gateway would see. Bounded: DURATION seconds per phase.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONCURRENCY=${CONCURRENCY:-32}
cargo build --release --quiet --bin connectflow --example ussd_sessions
BIN=target/release/connectflow
source benches/servers.sh
tmp=$(mktemp -d)
export CONNECTFLOW_GATEWAY_TOKEN=bench MONO_SEC_KEY=test_sk_connectflow_sandbox
# The sandbox caps live sessions per key (100 by default, as a partner
# would): raised here, so a burst measures connectflow, not the cap.
"$BIN" sandbox --addr 127.0.0.1:18105 --max-sessions-per-key 100000 >"$tmp/sandbox.log" 2>&1 & pids+=($!)
wait_line "$tmp/sandbox.log"
"$BIN" serve --addr 127.0.0.1:18101 --store memory --phone-limit 0 --source-limit 0 \
  --base-url http://127.0.0.1:18105 --records "sqlite:$tmp/records.db" >"$tmp/serve.log" 2>&1 & pids+=($!)
wait_line "$tmp/serve.log"
LOAD=target/release/examples/ussd_sessions
URL=http://127.0.0.1:18101
"$LOAD" "$URL" --concurrency 4 --duration 2 >/dev/null # warm up
echo "saturation (closed loop, $CONCURRENCY phones, ${DURATION} s):"
sat=$("$LOAD" "$URL" --concurrency "$CONCURRENCY" --duration "$DURATION")
echo "  $sat"
rate=$(sed -E 's/.* ([0-9.]+) sessions\/s.*/\1/' <<<"$sat")
half=$(echo "$rate / 2" | bc -l)
printf 'half of saturation (open loop, %.0f sessions/s, %s s):\n' "$half" "$DURATION"
echo "  $("$LOAD" "$URL" --rate "$half" --duration "$DURATION")"
