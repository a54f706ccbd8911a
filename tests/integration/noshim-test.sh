#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cused only: a client that is NOT under cused-run (no libcused shim) opens
# the device directly and calls KVM_CREATE_VM.  README.md: it must get
# EOPNOTSUPP, and the daemon must log one line telling how to run it (a line
# that mentions cused-run).
#
#   tests/integration/noshim-test.sh [BUILD [KVMTEST [GUEST_DIR]]]
#
# Exit 0 ok, 1 failure, 77 skip.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

cused_setup "${1:-build}" "${2:-}" "${3:-}"
cused_start
echo "cused $CUSED serving $DEV (pid $CUSED_PID)"

before=$(grep -c 'cused-run' "$WORK/cused.log")
"$KVMTEST" --dev "$DEV" noshim >"$WORK/noshim.out" 2>&1
rc=$?
cat "$WORK/noshim.out"
grep -qx 'noshim create_vm ret=-1 errno=EOPNOTSUPP' "$WORK/noshim.out" ||
	fail "KVM_CREATE_VM without the shim did not fail with EOPNOTSUPP (status $rc)"
[ $rc -eq 0 ] || fail "kvmtest noshim exited with status $rc"
# the log line is written before the reply; give a slow writer a moment anyway
for _ in $(seq 20); do
	[ "$(grep -c 'cused-run' "$WORK/cused.log")" -gt "$before" ] && break
	sleep 0.1
done
hint=$(grep 'cused-run' "$WORK/cused.log" | tail -n +$((before + 1)))
n=$(printf '%s' "$hint" | grep -c .)
[ "$n" -eq 1 ] || { echo "--- cused.log"; cat "$WORK/cused.log"; fail "want one log line mentioning cused-run, got $n"; }
echo "daemon log: $hint"

cused_alive || fail "cused died"
wait_status 0 0 5 || fail "status after the refused client: $(tr '\n' ' ' <"$MNT/status")"
cused_stop
echo "noshim: ok"
