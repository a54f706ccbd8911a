#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Kill test: a client SIGKILLed while its vCPU is inside KVM_RUN must not
# leak the VM or wedge the daemon.
#
#   tests/integration/kill-test.sh [BUILD [KVMTEST [GUEST_DIR]]]
#
# Starts a private cused, runs `kvmtest hold` under cused-run (its guest
# loops without exits, so the vCPU stays in KVM_RUN), waits until the status
# file shows "vms 1" / "vcpus 1", SIGKILLs the client, then requires
# "vms 0" / "vcpus 0" within 5 s and a fresh `kvmtest modes` on the same
# daemon whose trace matches the host's.  ROUNDS=N repeats the kill (default 2).
# HOLD="irq halt" holds with the in-kernel irqchip instead: a halted BSP and
# an AP waiting for INIT, both asleep in the daemon (VCPUS=2).
# Exit 0 ok, 1 failure, 77 skip.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

cused_setup "${1:-build}" "${2:-}" "${3:-}"
ROUNDS=${ROUNDS:-2}
HOLD=${HOLD:-hold}
VCPUS=${VCPUS:-1}

run_host modes >"$WORK/host.modes" 2>&1 || fail "kvmtest modes fails on the host's /dev/kvm"
cused_start
echo "cused $CUSED serving $DEV (pid $CUSED_PID)"
wait_status 0 0 5 || fail "fresh daemon status is not vms 0 / vcpus 0: $(tr '\n' ' ' <"$MNT/status")"

for round in $(seq "$ROUNDS"); do
	out=$WORK/hold.$round
	# shellcheck disable=SC2086 # HOLD is a kvmtest command line
	"$CUSED_RUN" --device "$DEV" "$KVMTEST" $HOLD >"$out" 2>&1 &
	launcher=$!
	CHILD_PIDS+=("$launcher")
	client=
	for _ in $(seq 100); do
		client=$(sed -n 's/^hold: in guest pid \([0-9]*\)$/\1/p' "$out")
		[ -n "$client" ] && { CHILD_PIDS+=("$client"); break; }
		kill -0 "$launcher" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$client" ] || { cat "$out"; fail "round $round: hold client never entered its guest"; }
	wait_status 1 "$VCPUS" 5 || fail "round $round: status with held vCPUs: $(tr '\n' ' ' <"$MNT/status")"
	sleep 0.2 # let the vCPU settle inside KVM_RUN
	kill -KILL "$client"
	# the launcher may be the client itself (exec) or its parent
	kill -KILL "$launcher" 2>/dev/null
	wait "$launcher" 2>/dev/null
	if ! wait_status 0 0 5; then
		fail "round $round: 5 s after SIGKILL status is still: $(tr '\n' ' ' <"$MNT/status")"
	fi
	cused_alive || { tail -50 "$WORK/cused.log"; fail "round $round: cused died"; }
	echo "ok   round $round: SIGKILL in KVM_RUN, VM and vCPU released"

	run_cused modes >"$WORK/cused.modes.$round" 2>&1
	if ! diff -u --label host --label cused <(host_known <"$WORK/host.modes") "$WORK/cused.modes.$round"; then
		fail "round $round: modes after the kill differs from the host"
	fi
	echo "ok   round $round: daemon still serves modes identically"
done

wait_status 0 0 5 || fail "status at the end: $(tr '\n' ' ' <"$MNT/status")"
cused_stop
echo "kill: ok"
