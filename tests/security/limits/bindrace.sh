#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 6 defect 5: two threads racing CUSED_IOC_BIND on one handle, many
# times, as an unprivileged uid.  At most one bind per handle may succeed,
# the loser gets EBUSY, and once the client has exited nothing is left:
# status must read vms 0 / vcpus 0 (the unfixed daemon leaked one VM, and a
# host VM fd, per lost race).
. "$(dirname "$0")/common.sh"
ROUNDS=${ROUNDS:-3000}

unpriv_setup
cused_start
out=$(run_unpriv "$ATTACK" bindrace "$DEV" "$ROUNDS") || fail "attack client failed: $out"
echo "$out"
case $out in
*"bindrace rounds $ROUNDS both 0 "*) ;;
*) fail "two binds succeeded on one handle: $out" ;;
esac
case $out in
*" none 0 other-errors 0") ;;
*) fail "a bind failed with something other than EBUSY, or neither bound: $out" ;;
esac
wait_status 0 0 10 || fail "after the client exited status is: $(tr '\n' ' ' <"$MNT/status")"
cused_alive || fail "cused died"
echo "limits-bindrace: ok"
