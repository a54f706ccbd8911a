#!/usr/bin/env bash
# run-bochs-vmx.sh [TEST_CMD]
#
# Intel VMX under Bochs 2.7 (Debian's build emulates VMX): boots Debian's
# 6.1 kernel + the scripts/vm initramfs with a Skylake-X CPU model, loads
# cused-tramp.ko and runs TEST_CMD, by default tramp_smoke twice: with the
# module's defaults (EPT A/D dirty log and VPID where the model offers
# them) and reloaded with ept_ad=0 vpid=0 (write-protect dirty log, no
# VPID).  The module prints which paths it took (guest-dmesg lines).
# Slow (about 2-4 minutes).  Exit 0 pass, 1 fail, 77 skip.
# Knobs: VM_TIMEOUT (s, default 900), VM_CPUS (Bochs CPUs, default 2).
set -uo pipefail
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/bochs.sh"

DEFAULT_CMD='tramp_smoke && rmmod cused-tramp && insmod /lib/modules/cused-tramp.ko ept_ad=0 vpid=0 && dmesg | grep "cused-tramp: VMX: EPT" | tail -1 && tramp_smoke'
TEST_CMD=${1:-$DEFAULT_CMD}
TIMEOUT=${VM_TIMEOUT:-900}
vm_bochs_pkgs
vm_need_pkgs gcc make libc6-dev busybox-static cpio
vm_kernel
vm_build_module vmx || exit 1
vm_build_smoke vmx || exit 1
export KMOD_KO KMODDIR SMOKE_BIN TEST_CMD
"$REPO/scripts/vm/build-initramfs.sh" "$VM_CACHE/initramfs-vmx.cpio.gz" || exit $?

log=$VM_CACHE/serial-vmx.log
vm_log "booting $KVER under Bochs (VMX, ${VM_CPUS:-2} CPUs, timeout ${TIMEOUT}s), serial log $log"
t0=$(date +%s)
vm_bochs_boot "$VM_CACHE/bochs" "$VMLINUZ" "$VM_CACHE/initramfs-vmx.cpio.gz" "$log" "$TIMEOUT" "${VM_CPUS:-2}"
brc=$?
t1=$(date +%s)
grep -avE '^\s*$' "$log" | sed 's/^/  | /'
echo "vm: boot-to-poweroff $((t1 - t0))s (bochs rc $brc)"
if [ "$brc" -eq 124 ]; then
	echo "FAIL: bochs timed out after ${TIMEOUT}s (see $VM_CACHE/bochs/bochs.log)"
	exit 1
fi
want=1
[ $# -eq 0 ] && want=2
if [ "$(grep -ac "TRAMP-SMOKE PASS" "$log")" -ge "$want" ] && grep -aq "TEST-EXIT 0" "$log"; then
	echo "PASS: $TEST_CMD under Bochs/VMX"
	exit 0
fi
echo "FAIL: $TEST_CMD under Bochs/VMX (see $VM_CACHE/bochs/bochs.log)"
exit 1
