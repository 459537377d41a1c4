#!/usr/bin/env bash
# Instructions per USSD hop, counted by valgrind's callgrind: stable on a
# noisy machine (the same binary and input give the same count whatever else
# runs), so a change's effect on a hop's cost can be read off directly.
#
# Run with: bash benches/ussd_callgrind.sh   (needs valgrind: apt-get install valgrind;
# N=1000 for a quicker count, PHASES=bank (or first) for one kind of hop)
#
# `examples/ussd_hops.rs` makes N hops of one kind, each of a new session,
# in-process (no HTTP) with serve's parts: a sealed memory store and SQLite
# auth records. Each kind runs with N and 2N hops; the difference of the two
# totals (every thread counted), divided by N, is one hop's cost with the
# start-up and warm-up taken out.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000}
PHASES=${PHASES:-first bank}
for phase in $PHASES; do
  # Any other phase of the example is not a hop, and its N/2N difference
  # would print as a hop's cost.
  case $phase in first | bank) ;; *) echo "PHASES: first and/or bank, not '$phase'" >&2; exit 2 ;; esac
done
cargo build --release --quiet --example ussd_hops
out=$(mktemp -d)
count() { # phase n
  valgrind --tool=callgrind --callgrind-out-file="$out/$1-$2.out" \
    target/release/examples/ussd_hops "$1" "$2" >/dev/null 2>"$out/$1-$2.log"
  # One file per thread is not asked for, so the totals line covers them all.
  local total once
  total=$(grep -E '^(summary|totals):' "$out/$1-$2.out" | head -1 | awk '{print $2}')
  # Less what one-time initialisers ran: among them the rate limiter's
  # clock (governor's quanta) calibrates itself against the system clock
  # in a busy loop that runs until its error settles or a wall-clock
  # deadline passes, so under valgrind it runs a different number of
  # instructions in each run, and the N/2N difference no longer cancels it
  # (it moved a hop's count by up to 10,000 instructions).
  once=$(callgrind_annotate --inclusive=yes "$out/$1-$2.out" 2>/dev/null |
    grep -F 'OnceCell<T>::initialize::{{closure}}' |
    awk '{gsub(",", "", $1); s += $1} END {print s + 0}')
  echo $((total - once))
}
for phase in $PHASES; do
  one=$(count "$phase" "$N"); two=$(count "$phase" $((2 * N)))
  printf '%-6s hop: %8d instructions (callgrind, (count(%d) - count(%d)) / %d)\n' \
    "$phase" "$(((two - one) / N))" $((2 * N)) "$N" "$N"
done
echo "(profiles in $out: callgrind_annotate $out/$phase-$((2 * N)).out | head -60)"
