#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Exit counters and the exit trace: the status file counts every exit a
# client's guest makes by reason (daemon totals and one line per live vCPU),
# scripts/cused-stat shows them per VM with rates, and cused --trace FILE
# writes one line per exit.
# Usage: stats-test.sh BUILD KVMBENCH ROOT
set -uo pipefail
ROOT=$3
. "$ROOT/tests/integration/lib.sh"
cused_setup "$1" "$2"
KVMBENCH=$2
STAT=$ROOT/scripts/cused-stat

TRACE=$WORK/trace
cused_start --trace "$TRACE"

# counter NAME: the daemon-wide count of that exit reason
counter() {
	awk -v f="$1" '$1 == "exits" { for (i = 2; i < NF; i += 2) if ($i == f) print $(i + 1) }' "$MNT/status"
}

out=$("$CUSED_RUN" --device "$DEV" "$KVMBENCH" pio 500) || fail "pio run: $out"
out=$("$CUSED_RUN" --device "$DEV" "$KVMBENCH" msr 50) || fail "msr run: $out"
io=$(counter io) rd=$(counter rdmsr) wr=$(counter wrmsr)
echo "totals: io $io rdmsr $rd wrmsr $wr"
# 500 benchmark OUTs + start/done OUTs of each run; 50 RDMSR and 50 WRMSR
[ "${io:-0}" -ge 504 ] || fail "io counter $io, want >= 504"
[ "${rd:-0}" -eq 50 ] || fail "rdmsr counter $rd, want 50"
[ "${wr:-0}" -eq 50 ] || fail "wrmsr counter $wr, want 50"

# a live VM has its own line, and cused-stat shows it with a rate
"$CUSED_RUN" --device "$DEV" "$KVMBENCH" --timeout 100 pio 100000000 >/dev/null 2>&1 &
CHILD_PIDS+=($!)
for _ in $(seq 100); do
	grep -q '^vcpu ' "$MNT/status" && break
	sleep 0.1
done
grep '^vcpu ' "$MNT/status" || fail "no per-vCPU line while a VM runs"
view=$("$STAT" --status "$MNT/status" -n 2 -d 0.5) || fail "cused-stat failed: $view"
echo "$view"
rate=$(awk '$1 ~ /^[0-9]+$/ && $3 == "exits" { r = $5 } END { print r + 0 }' <<<"$view")
[ "$rate" -gt 0 ] || fail "cused-stat shows no exit rate for the running VM"
view=$("$STAT" --status "$MNT/status" --once --vcpus) || fail "cused-stat --once failed: $view"
grep -q "^[0-9]* 0 *exits" <<<"$view" || fail "cused-stat --vcpus shows no vCPU 0"
kill -KILL "${CHILD_PIDS[@]}"
wait "${CHILD_PIDS[@]}" 2>/dev/null
CHILD_PIDS=()
wait_status 0 0 10 || fail "the killed client's VM was not freed"
grep -q '^vcpu ' "$MNT/status" && fail "a dead vCPU still has a line"

cused_stop
lines=$(grep -c ' io port 0x30 out size 1 count 1$' "$TRACE")
echo "trace: $lines benchmark OUT lines; first: $(head -1 "$TRACE")"
[ "$lines" -ge 500 ] || fail "trace has $lines benchmark OUT exits, want >= 500"
grep -q ' rdmsr msr 0x2ff$' "$TRACE" || fail "trace lacks the RDMSR exits"
echo "result: PASS"
