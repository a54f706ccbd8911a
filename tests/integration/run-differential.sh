#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Differential test: the same kvmtest runs on the host's /dev/kvm and on a
# private cused daemon (backend hostkvm, through cused-run) must print the
# same bytes.
#
#   tests/integration/run-differential.sh [BUILD [KVMTEST [GUEST_DIR]]] 
#   SUBTESTS="modes smp" tests/integration/run-differential.sh build
#
# Subtests: modes (mode switches, PIO, MMIO, MSRs, final regs/sregs),
# badargs (errno table), smp (two vCPUs in two threads), features (dirty
# log, KVM_TRANSLATE, single-step, KVM_INTERRUPT without an irqchip,
# read-only slot, KVM_GET/SET_FPU, KVM_SET_REGS mid-run, INT3 under
# USE_SW_BP), state (VM and vCPU state ioctls without irqchip, the classic
# example-program flow, immediate_exit after I/O and MSR exits, KVM_RUN
# without memslots, MONITOR/MWAIT NOP and #UD), irq (in-kernel
# irqchip: LAPIC timer, INIT/SIPI and IPIs, IOAPIC lines and MSI, state dumps).  Exit 0 if all
# traces match, 1 on any difference or failure, 77 (skip) when /dev/kvm,
# /dev/fuse or the cused binaries are missing.  KEEP_WORK=1 keeps the traces
# and the daemon log (they are kept anyway on failure).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

cused_setup "${1:-build}" "${2:-}" "${3:-}"
SUBTESTS=${SUBTESTS:-modes badargs smp features state irq evfd}

# Differences that come from PVM itself, not from cused, are rewritten in the
# host's trace only, each with its reason: see host_known in lib.sh.  Every
# other line of every trace has to match.

cused_start
echo "cused $CUSED serving $DEV (pid $CUSED_PID)"

failed=0
for sub in $SUBTESTS; do
	run_host "$sub" >"$WORK/host.$sub" 2>"$WORK/host.$sub.err"
	hrc=$?
	run_cused "$sub" >"$WORK/cused.$sub" 2>"$WORK/cused.$sub.err"
	crc=$?
	if [ $hrc -ne 0 ]; then
		echo "FAIL $sub: kvmtest fails on the host's /dev/kvm itself (status $hrc)"
		cat "$WORK/host.$sub.err"
		failed=1
		continue
	fi
	if diff -u --label "host $sub" --label "cused $sub" \
		<(host_known <"$WORK/host.$sub") "$WORK/cused.$sub" >"$WORK/diff.$sub"; then
		if [ $crc -eq 0 ]; then
			echo "ok   $sub: $(wc -l <"$WORK/host.$sub") lines identical"
		else
			echo "FAIL $sub: same trace but status $crc under cused"
			failed=1
		fi
	else
		echo "FAIL $sub: traces differ (status host $hrc, cused $crc)"
		cat "$WORK/diff.$sub"
		[ -s "$WORK/cused.$sub.err" ] && { echo "--- stderr under cused"; cat "$WORK/cused.$sub.err"; }
		failed=1
	fi
	if ! cused_alive; then
		echo "FAIL: cused died during $sub"
		echo "--- cused.log"; tail -50 "$WORK/cused.log"
		exit 1
	fi
done

if ! wait_status 0 0 5; then
	echo "FAIL: status after all clients exited: $(tr '\n' ' ' <"$MNT/status")"
	failed=1
fi
cused_stop
[ $failed -eq 0 ] || { echo "--- cused.log (last 50 lines)"; tail -50 "$WORK/cused.log"; exit 1; }
echo "differential: all traces identical"
