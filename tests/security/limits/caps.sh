#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 6 defect 6 (counts): per-uid caps on live VMs and vCPUs.  A uid over
# its VM cap gets ENOMEM (what KVM_CREATE_VM returns when the user's memory
# cgroup refuses the VM), another uid is unaffected, and the cap is released
# when the VMs are closed.  The vCPU cap likewise.
. "$(dirname "$0")/common.sh"

unpriv_setup
cused_start --max-vms-per-uid 3 --max-vcpus-per-uid 4

# uid A fills its cap and holds it
run_unpriv "$ATTACK" vmcap "$DEV" hold >"$WORK/a.out" 2>&1 &
bg=$!
CHILD_PIDS+=("$bg")
wait_holding "$WORK/a.out"
grep -qx "vms 3 errno ENOMEM" "$WORK/a.out" || { cat "$WORK/a.out"; fail "uid $UNPRIV_UID: want 3 VMs then ENOMEM"; }
echo "ok   uid $UNPRIV_UID: 3 VMs, the 4th ENOMEM"
[ "$(cused_status_get vms)" = 3 ] || fail "status while held: $(tr '\n' ' ' <"$MNT/status")"

# uid B is not affected by A's use
out=$(run_other "$ATTACK" vmcap "$DEV")
[ "$out" = "vms 3 errno ENOMEM" ] || fail "uid $OTHER_UID while $UNPRIV_UID is at its cap: $out"
echo "ok   uid $OTHER_UID unaffected: $out"

# released on close
kill -TERM "$HOLDER"
wait "$bg"
wait_status 0 0 10 || fail "after the holder exited status is: $(tr '\n' ' ' <"$MNT/status")"
out=$(run_unpriv "$ATTACK" vmcap "$DEV")
[ "$out" = "vms 3 errno ENOMEM" ] || fail "uid $UNPRIV_UID after closing its VMs: $out"
echo "ok   cap released on close"

# vCPUs: the 5th of one uid is refused, whatever the VM
wait_status 0 0 10 || fail "status: $(tr '\n' ' ' <"$MNT/status")"
out=$(run_unpriv "$ATTACK" vcpucap "$DEV")
[ "$out" = "vcpus 4 errno ENOMEM" ] || fail "vCPU cap: $out"
wait_status 0 0 10 || fail "vCPUs not released: $(tr '\n' ' ' <"$MNT/status")"
out=$(run_unpriv "$ATTACK" vcpucap "$DEV")
[ "$out" = "vcpus 4 errno ENOMEM" ] || fail "vCPU cap after release: $out"
echo "ok   vCPU cap 4 (ENOMEM), released on close"

# eventfds the daemon holds (KVM_IOEVENTFD/IRQFD): 1024 per VM (ENOSPC), 2048
# per uid (ENOMEM), another uid unaffected, released with the VMs
wait_status 0 0 10 || fail "status: $(tr '\n' ' ' <"$MNT/status")"
run_unpriv "$ATTACK" evfdcap "$DEV" hold >"$WORK/e.out" 2>&1 &
bg=$!
CHILD_PIDS+=("$bg")
wait_holding "$WORK/e.out"
grep -qx "ioeventfds 2048 errno ENOMEM" "$WORK/e.out" || { cat "$WORK/e.out"; fail "uid $UNPRIV_UID: want 2048 ioeventfds then ENOMEM"; }
out=$(run_other "$ATTACK" evfdcap "$DEV")
[ "$out" = "ioeventfds 2048 errno ENOMEM" ] || fail "uid $OTHER_UID while $UNPRIV_UID holds 2048 eventfds: $out"
kill -TERM "$HOLDER"
wait "$bg"
wait_status 0 0 10 || fail "after the holder exited status is: $(tr '\n' ' ' <"$MNT/status")"
out=$(run_unpriv "$ATTACK" evfdcap "$DEV")
[ "$out" = "ioeventfds 2048 errno ENOMEM" ] || fail "uid $UNPRIV_UID after closing its VMs: $out"
echo "ok   eventfds: 1024 per VM (ENOSPC), 2048 per uid (ENOMEM), released on close"
cused_alive || fail "cused died"
echo "limits-caps: ok"
