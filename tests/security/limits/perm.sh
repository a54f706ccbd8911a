#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Access control like /dev/kvm: the device is 0660 root:kvm; a uid outside
# group kvm cannot open it (EACCES), a member can; a VM created by uid A
# cannot be bound by uid B with A's token (EACCES), only by A.
. "$(dirname "$0")/common.sh"

unpriv_setup
cused_start
mode=$(stat -c '%a %U %G' "$DEV")
[ "$mode" = "660 root kvm" ] || fail "device is $mode, want 660 root kvm"
echo "ok   $DEV is $mode"
# the status file's per-VM exit counters are the device users' business only
[ "$(stat -c '%a %G' "$MNT/status")" = "440 kvm" ] || fail "status is $(stat -c '%a %G' "$MNT/status"), want 440 kvm"
run_unpriv_nogroup cat "$MNT/status" >/dev/null 2>&1 && fail "status readable outside group kvm"
run_unpriv cat "$MNT/status" >/dev/null || fail "status not readable in group kvm"
echo "ok   status is 440 root:kvm"

out=$(run_unpriv_nogroup "$ATTACK" open "$DEV")
[ "$out" = "open errno EACCES" ] || fail "uid $UNPRIV_UID without group kvm: $out"
echo "ok   outside group kvm: $out"
out=$(run_unpriv "$ATTACK" open "$DEV")
[ "$out" = "open ok" ] || fail "uid $UNPRIV_UID in group kvm: $out"
echo "ok   in group kvm: $out"
# the daemon's own check, not only the mount's default_permissions: a chmod
# of the node must not open it up (FUSE ignores it here, so chmod is refused
# or has no effect; either way the open must still fail)
chmod 0666 "$DEV" 2>/dev/null
out=$(run_unpriv_nogroup "$ATTACK" open "$DEV")
[ "$out" = "open errno EACCES" ] || fail "after chmod 0666: $out"

# token theft
run_unpriv "$ATTACK" token "$DEV" >"$WORK/token.out" 2>&1 &
bg=$!
CHILD_PIDS+=("$bg")
wait_holding "$WORK/token.out"
tok=$(sed -n 's/^token \([0-9a-f]*\)$/\1/p' "$WORK/token.out")
[ -n "$tok" ] || { cat "$WORK/token.out"; fail "no token"; }
log_before=$(grep -c 'may not bind' "$WORK/cused.log")
out=$(run_other "$ATTACK" bind "$DEV" "$tok")
grep -qx "bind errno EACCES" <<<"$out" || fail "uid $OTHER_UID bound uid $UNPRIV_UID's VM: $out"
echo "ok   uid $OTHER_UID cannot bind uid $UNPRIV_UID's token: EACCES"
[ $(( $(grep -c 'may not bind' "$WORK/cused.log") - log_before )) -eq 1 ] ||
	fail "want one log line for the refused bind"
# the token is still good for its owner
out=$(run_unpriv "$ATTACK" bind "$DEV" "$tok")
[ "$out" = "bind ok" ] || fail "owner could not bind after the theft attempt: $out"
echo "ok   the owner still binds it"
kill -TERM "$HOLDER"; wait "$bg"
wait_status 0 0 10 || fail "status: $(tr '\n' ' ' <"$MNT/status")"
cused_alive || fail "cused died"
echo "limits-perm: ok"
