# SPDX-License-Identifier: MIT
# Shared by tests/integration/*.sh and scripts/bench/*: find the binaries,
# skip (exit 77) when something this machine or build lacks, start and stop a
# private cused daemon.  Source it after setting nothing; call
#   cused_setup BUILD [KVMTEST] [GUEST_DIR]
# and then cused_start / cused_stop / cused_status_get / run_host / run_cused.
#
# The daemon contract relied on (see README.md):
#   cused --mount DIR --backend hostkvm   foreground; serves DIR/kvm and DIR/status
#   DIR/status                            text lines "vms N" and "vcpus N"
#   cused-run --device DIR/kvm CMD ARGS   CMD sees DIR/kvm as /dev/kvm

skip() {
	echo "SKIP: $*"
	exit 77
}

fail() {
	echo "FAIL: $*"
	exit 1
}

# cused_setup BUILD [KVMTEST] [GUEST_DIR]: sets BUILD KVMTEST CUSED CUSED_RUN,
# skips when the host side or the cused binaries are missing.
cused_setup() {
	BUILD=$(cd "${1:-build}" 2>/dev/null && pwd) || skip "no build directory ${1:-build}"
	KVMTEST=${2:-$BUILD/tests/integration/kvmtest}
	[ -n "${3:-}" ] && export KVMTEST_GUEST_DIR=$3
	[ -x "$KVMTEST" ] || skip "kvmtest not built ($KVMTEST)"
	[ -c /dev/kvm ] || skip "/dev/kvm missing: no host KVM to compare against"
	[ -c /dev/fuse ] || skip "/dev/fuse missing: cused cannot serve its device"
	CUSED=
	for c in "$BUILD/cused/frontend/cused" "$BUILD/cused/cused"; do
		[ -x "$c" ] && { CUSED=$c; break; }
	done
	[ -n "$CUSED" ] || skip "cused daemon not built ($BUILD/cused/frontend/cused)"
	CUSED_RUN=$BUILD/cused/shim/cused-run
	[ -x "$CUSED_RUN" ] || skip "cused-run launcher not built ($CUSED_RUN)"
	WORK=$(mktemp -d /tmp/cused-it.XXXXXX)
	MNT=$WORK/m
	DEV=$MNT/kvm
	CUSED_PID=
	CHILD_PIDS=()   # clients started in the background: killed on exit
	trap cused_cleanup EXIT
}

cused_cleanup() {
	local rc=$? p
	for p in "${CHILD_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	cused_stop quiet
	# a sanitizer build's daemon may report without dying (leaks at exit)
	if [ $rc -eq 0 ] && grep -qE 'ERROR: [A-Za-z]+Sanitizer|runtime error:' \
			"$WORK/cused.log" 2>/dev/null; then
		echo "FAIL: the daemon reported a sanitizer error:"
		grep -E -A40 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$WORK/cused.log" | head -60
		rc=1
	fi
	if [ -n "${KEEP_WORK:-}" ] || { [ $rc -ne 0 ] && [ $rc -ne 77 ]; }; then
		echo "(logs kept in $WORK)"
	else
		rm -rf "$WORK"
	fi
	exit $rc
}

# cused_start [EXTRA CUSED ARGS...]: start a private daemon on $MNT, wait for
# $DEV and $MNT/status
cused_start() {
	mkdir -p "$MNT"
	"$CUSED" --mount "$MNT" --backend hostkvm "$@" >"$WORK/cused.log" 2>&1 &
	CUSED_PID=$!
	for _ in $(seq 100); do
		if ! kill -0 "$CUSED_PID" 2>/dev/null; then
			wait "$CUSED_PID"
			local rc=$?
			CUSED_PID=
			echo "--- cused.log"; cat "$WORK/cused.log"
			fail "cused exited with status $rc before serving $DEV"
		fi
		[ -e "$DEV" ] && [ -r "$MNT/status" ] && return 0
		sleep 0.1
	done
	echo "--- cused.log"; cat "$WORK/cused.log"
	fail "cused did not serve $DEV within 10 s"
}

cused_alive() {
	[ -n "$CUSED_PID" ] && kill -0 "$CUSED_PID" 2>/dev/null
}

# cused_stop [quiet]: SIGTERM, wait up to 5 s, then SIGKILL; unmount leftovers
cused_stop() {
	if [ -n "$CUSED_PID" ]; then
		kill -TERM "$CUSED_PID" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$CUSED_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$CUSED_PID" 2>/dev/null; then
			[ "${1:-}" = quiet ] || echo "WARNING: cused ignored SIGTERM for 5 s; sending SIGKILL"
			kill -KILL "$CUSED_PID" 2>/dev/null
		fi
		wait "$CUSED_PID" 2>/dev/null
		CUSED_PID=
	fi
	# mountpoint(1) fails on a dead FUSE endpoint (ENOTCONN): ask /proc/mounts
	if [ -n "${MNT:-}" ] && awk -v m="$MNT" '$2 == m { f = 1 } END { exit !f }' /proc/mounts; then
		fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	fi
}

# cused_status_get FIELD: the number on the "FIELD N" line of $MNT/status
cused_status_get() {
	awk -v f="$1" '$1 == f { print $2 }' "$MNT/status" 2>/dev/null
}

# wait_status VMS VCPUS SECONDS: wait until status shows exactly that
wait_status() {
	local want_vms=$1 want_vcpus=$2 tries=$(( $3 * 10 ))
	for _ in $(seq "$tries"); do
		[ "$(cused_status_get vms)" = "$want_vms" ] &&
			[ "$(cused_status_get vcpus)" = "$want_vcpus" ] && return 0
		sleep 0.1
	done
	return 1
}

# run_host SUB... / run_cused SUB...: kvmtest on the host's /dev/kvm, or on
# cused through the launcher (the client opens /dev/kvm in both cases)
run_host() {
	"$KVMTEST" --dev /dev/kvm "$@"
}

run_cused() {
	"$CUSED_RUN" --device "$DEV" "$KVMTEST" "$@"
}

# Known ways this machine's host /dev/kvm (PVM, not VMX/SVM) differs from
# Linux KVM, recorded rather than hidden.  Only the host's trace is rewritten,
# and only to the value Linux KVM gives, so cused must produce exactly that:
# - IA32_MISC_ENABLE (0x1a0) reads 0x1 on PVM; Linux KVM's kvm_vcpu_reset()
#   sets PEBS_UNAVAIL|BTS_UNAVAIL = 0x1800, as cused does.  The modes guest
#   keeps the value in r14.
# - KVM_GET_NR_MMU_PAGES is gone from the host's kernel (6.18: ENOTTY); Linux
#   6.1 returns n_max_mmu_pages: max(slot pages / 50, 64) = 64 for the state
#   subtest's 2 MiB slot, then the value KVM_SET_NR_MMU_PAGES gave (100).
# - KVM_GET_VCPU_EVENTS: the host (6.18) counts pending NMIs (2 after setting
#   5); Linux 6.1 reports nmi.pending as 0 or 1.
# - kvmtest irq ioapic: PVM delivers a level-triggered IOAPIC vector a second
#   time after its handler lowered the line (KVM_IRQ_LINE 0) and EOIed it, and
#   the remote IRR still reads set right after that EOI.  Linux KVM clears
#   remote IRR at the EOI and delivers once (kvm_ioapic_update_eoi_one): RTE
#   0x8061, one extra "gsi 6 level 0" request less, level count 1.
# - kvmtest irq split: PVM reports the KVM_EXIT_IOAPIC_EOI of the guest's
#   EOI only after the guest's next exit to userspace (its OUT asking for the
#   interrupt window); Linux KVM exits at the entry right after the EOI
#   (KVM_REQ_IOAPIC_EOI_EXIT in vcpu_enter_guest), before that OUT.
# - KVM_CHECK_EXTENSION(KVM_CAP_X2APIC_API) is 11 on this host: its kernel
#   offers an x2APIC API flag (bit 3) that Linux 6.1 does not; 6.1 says 3.
# - KVM_GET_CLOCK flags are 0 on PVM (no master clock); Linux 6.1 with a TSC
#   clocksource and a master clock, as cused's kvmclock always is, reports
#   TSC_STABLE|REALTIME|HOST_TSC (0xe).
# - kvmtest state mwait: PVM's emulator refuses MONITOR (INTERNAL_ERROR);
#   KVM intercepts MONITOR/MWAIT and retires them as NOPs, or injects #UD
#   with MWAIT_NEVER_UD_FAULTS disabled and no CPUID MWAIT
#   (kvm_emulate_monitor_mwait), as cused does (cused/tramp/hostkvm_emul.c).
# - kvmtest features swbp: PVM's emulator refuses a 64-bit INT3 under
#   KVM_GUESTDBG_USE_SW_BP (INTERNAL_ERROR); KVM exits with KVM_EXIT_DEBUG,
#   #BP, pc = the INT3, RIP left on it (vmx handle_exception_nmi), as cused.
host_known() {
	sed -E -e 's/^(msr 0x000001a0 )0x0000000000000001$/\10x0000000000001800/' \
	       -e 's/^(reg r14 +)0x0000000000000001$/\10x0000000000001800/' \
	       -e 's/^(vm\.get_nr_mmu_pages ret=)-1 errno=ENOTTY $/\164 errno=0 /' \
	       -e 's/^(vm\.get_nr_mmu_pages_100 ret=)-1 errno=ENOTTY $/\1100 errno=0 /' \
	       -e 's/^(vcpu\.get_vcpu_events_nmi5 .* nmi=[01])\/2\//\1\/1\//' \
	       -e '/^ioapic out\[1\] 0xc061$/{s/0xc061/0x8061/;n;/^ioapic irq_line gsi 6 level 0 status 2$/d}' \
	       -e 's/^(ioapic out\[3\] )0x2$/\10x1/' \
	       -e 's/^(state cap X2APIC_API = )11$/\13/' \
	       -e 's/^(vm\.get_clock ret=0 errno=0 flags=)0 /\10xe /' \
	       -e 's/^(mwait\.nop exits:) INTERNAL_ERROR$/\1 IO(1) IO(2) HLT/' \
	       -e 's/^(mwait\.ud exits:) INTERNAL_ERROR$/\1 IO(6) HLT/' \
	       -e 's/^(swbp exit 1) INTERNAL_ERROR (rip=0x1f01) suberror=1 .*$/\1 DEBUG \2 pc=0x1f01 exception=3 dr6=0x0 dr7=0x0/' \
	       -e '/^split request_interrupt_window$/{N;s/^(split request_interrupt_window)\n(split ioapic_eoi vector 0x63)$/\2\n\1/}'
}

# ---- unprivileged clients (security tests)
# UNPRIV_UID / UNPRIV_GID: the uid tests run untrusted clients as (nobody).
# A client of /dev/kvm must be root or in group kvm, as with the kernel's
# device: run_unpriv adds that group, run_unpriv_nogroup does not.
UNPRIV_UID=${UNPRIV_UID:-65534}
UNPRIV_GID=${UNPRIV_GID:-65534}

# unpriv_setup: make $WORK reachable for the unprivileged uid and make sure
# group kvm exists (the install step creates it; a test machine may lack it)
unpriv_setup() {
	command -v setpriv >/dev/null || skip "setpriv (util-linux) missing"
	getent group kvm >/dev/null || groupadd -r kvm 2>/dev/null ||
		skip "group kvm missing and cannot be created"
	KVM_GID=$(getent group kvm | cut -d: -f3)
	chmod 0755 "$WORK"
}

# run_unpriv CMD...: CMD as $UNPRIV_UID, member of group kvm, no capabilities
run_unpriv() {
	setpriv --reuid "$UNPRIV_UID" --regid "$UNPRIV_GID" --groups "$KVM_GID" \
		--inh-caps=-all --bounding-set=-all -- "$@"
}

# run_unpriv_nogroup CMD...: the same without group kvm
run_unpriv_nogroup() {
	setpriv --reuid "$UNPRIV_UID" --regid "$UNPRIV_GID" --clear-groups \
		--inh-caps=-all --bounding-set=-all -- "$@"
}

# run_cused_unpriv SUB...: kvmtest as the unprivileged uid through the shim.
# cused-run needs root for its mount namespace, so the client opens the
# device by path instead of /dev/kvm (--no-bind, kvmtest --dev).
run_cused_unpriv() {
	run_unpriv "$CUSED_RUN" --no-bind --device "$DEV" "$KVMTEST" --dev "$DEV" "$@"
}
