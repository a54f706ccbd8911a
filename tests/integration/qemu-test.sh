#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Unmodified QEMU (Debian's qemu-system-x86 7.2) with -accel kvm, on the
# host's /dev/kvm and on cused: SeaBIOS, QEMU's multiboot option ROM and the
# mbhello guest (tests/guest/mbhello.S: protected mode, COM1 marker, PIT
# ticks through the 8259, isa-debug-exit).  Each case must print both
# markers and exit with isa-debug-exit's status 33 ((0x10 << 1) | 1):
#   default  in-kernel irqchip (cused's PIC/IOAPIC/PIT/LAPIC)
#   split    kernel-irqchip=split (QEMU's PIC/IOAPIC/PIT, cused's LAPIC)
#   off      kernel-irqchip=off (QEMU's whole irqchip, KVM_INTERRUPT)
#   smp2     default irqchip with 2 vCPUs (SeaBIOS wakes the AP by INIT/SIPI)
#   split2   kernel-irqchip=split with 2 vCPUs
#   q35      the q35 machine (PCIe host, ICH9 LPC; default irqchip)
#   memfd    guest RAM from -object memory-backend-memfd (QEMU requires
#            KVM_CAP_SYNC_MMU for any memory backend with a file behind it)
# Not run: kernel-irqchip=off with 2 vCPUs hangs in QEMU 7.2 itself on the
# host's /dev/kvm too (the halted AP's thread spins in qemu_wait_io_event
# holding the iothread lock; QEMU warns that the userspace LAPIC is deprecated
# for KVM).
# A case the host's /dev/kvm fails is recorded (HOST-KNOWN, with its
# output) and not required of cused; if the host fails every case, skip.
#
#   tests/integration/qemu-test.sh [BUILD [KVMTEST [GUEST_DIR]]]
#
# Exit 0 ok, 1 failure, 77 skip (reason printed).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

QEMU=$(command -v qemu-system-x86_64) ||
	skip "qemu-system-x86_64 not installed (Debian: apt-get install qemu-system-x86)"
cused_setup "${1:-build}" "${2:-}" "${3:-}"
GUEST=${3:-$BUILD/tests/guest}/mbhello.elf
[ -r "$GUEST" ] || skip "guest $GUEST not built"
"$QEMU" --version | head -1

# no NIC and no VGA: their option ROM and BIOS set-up only add exits
QEMU_ARGS=(-m 128 -nographic -no-reboot -display none -vga none -net none
	   -serial stdio -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04
	   -kernel "$GUEST")
EXPECT_RC=33
PER_RUN=60

# run_qemu OUT DEVICE-PREFIX... -- MACHINE ARGS...: status in $rc
run_qemu() {
	local out=$1; shift
	local pre=()
	while [ "$1" != -- ]; do pre+=("$1"); shift; done
	shift
	timeout -k 5 "$PER_RUN" "${pre[@]}" "$QEMU" -accel kvm "$@" "${QEMU_ARGS[@]}" \
		</dev/null >"$out" 2>&1
	rc=$?
}

# ok OUT RC: the guest's markers and the debug-exit status
ok() {
	grep -q 'MBHELLO: protected mode' "$1" && grep -q 'MBHELLO: ticks ok' "$1" &&
		[ "$2" -eq "$EXPECT_RC" ]
}

CASES=(default split off smp2 split2 q35 memfd)
declare -A MACHINE=(
	[default]="-M pc"
	[split]="-M pc,kernel-irqchip=split"
	[off]="-M pc,kernel-irqchip=off"
	[smp2]="-M pc -smp 2"
	[split2]="-M pc,kernel-irqchip=split -smp 2"
	[q35]="-M q35"
	[memfd]="-M pc,memory-backend=ram0 -object memory-backend-memfd,id=ram0,size=128M"
)

cused_start
echo "cused $CUSED serving $DEV (pid $CUSED_PID)"
failed=() host_refused=() passed=()
for c in "${CASES[@]}"; do
	# shellcheck disable=SC2206
	m=(${MACHINE[$c]})
	run_qemu "$WORK/host-$c.out" -- "${m[@]}"
	host_rc=$rc
	if ! ok "$WORK/host-$c.out" "$host_rc"; then
		echo "HOST-KNOWN: $c: the host's /dev/kvm fails this case (status $host_rc):"
		tail -5 "$WORK/host-$c.out" | sed 's/^/  host| /'
		host_refused+=("$c")
		continue
	fi
	run_qemu "$WORK/cused-$c.out" "$CUSED_RUN" --device "$DEV" -- "${m[@]}"
	if ok "$WORK/cused-$c.out" "$rc"; then
		echo "PASS: $c (host and cused: markers, status $rc)"
		passed+=("$c")
	else
		echo "FAIL: $c on cused: status $rc (want $EXPECT_RC), output:"
		grep -v "host doesn't support requested feature" "$WORK/cused-$c.out" |
			tail -20 | sed 's/^/  cused| /'
		failed+=("$c")
	fi
	cused_alive || fail "the daemon died during case $c"
done

# what QEMU asked for that cused refused (informational)
echo "--- requests cused refused (daemon log, counted):"
grep 'warn:' "$WORK/cused.log" | grep -vE 'nent [0-9]+ < |room for [0-9]+ < ' |
	sed -E 's/vcpu [0-9]+/vcpu N/' |
	sort | uniq -c | sort -rn | head -20

[ ${#failed[@]} -eq 0 ] || fail "QEMU on cused failed: ${failed[*]}"
[ ${#passed[@]} -gt 0 ] || skip "the host's /dev/kvm fails every case (${host_refused[*]})"
echo "qemu: ${#passed[@]} case(s) pass on both (${passed[*]})" \
	"${host_refused[*]:+; host-refused: ${host_refused[*]}}"
exit 0
