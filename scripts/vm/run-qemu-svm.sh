#!/usr/bin/env bash
# run-qemu-svm.sh [TEST_CMD] [-- EXTRA_BINARY...]
#
# Builds cused-tramp.ko against Debian's 6.1 headers and tramp_smoke, packs
# an initramfs, boots Debian's 6.1 kernel under QEMU TCG with -cpu max (AMD
# SVM emulated), runs TEST_CMD (default tramp_smoke) and greps the serial
# log for PASS.  Exit 0 pass, 1 fail, 77 skip (a package cannot be had).
#
# Knobs: VM_TIMEOUT (s, default 180), VM_SMP (default 2), VM_APPEND (kernel
# args instead of "quiet"), VM_QEMU_ARGS (e.g. "-s" for a gdbstub on :1234),
# VM_CACHE (default $XDG_CACHE_HOME/cused-vm).  Guest-side commands:
# "tramp_smoke" (default), "tramp_smoke fuzz N", "tramp_smoke fuzz -1".
set -uo pipefail
. "$(dirname "$0")/common.sh"

TEST_CMD=${1:-tramp_smoke}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
TIMEOUT=${VM_TIMEOUT:-180}

vm_need_pkgs qemu-system-x86 gcc make libc6-dev bc
vm_kernel
t0=$(date +%s.%N)
vm_build_module svm || exit 1
vm_build_smoke svm || exit 1
t1=$(date +%s.%N)
export KMOD_KO KMODDIR SMOKE_BIN TEST_CMD
"$REPO/scripts/vm/build-initramfs.sh" "$VM_CACHE/initramfs-svm.cpio.gz" "$@" || exit $?
t2=$(date +%s.%N)

log=$VM_CACHE/serial-svm.log
vm_log "booting $KVER under qemu TCG (timeout ${TIMEOUT}s), serial log $log"
timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -smp "${VM_SMP:-2}" -m 512 \
	-nographic -no-reboot -kernel "$VMLINUZ" -initrd "$VM_CACHE/initramfs-svm.cpio.gz" \
	-append "console=ttyS0 panic=-1 ${VM_APPEND:-quiet}" ${VM_QEMU_ARGS:-} </dev/null >"$log" 2>&1
qrc=$?
t3=$(date +%s.%N)
tr -d '\r' <"$log" | grep -vE '^\s*$' | sed 's/^/  | /'
printf 'vm: build %.1fs, initramfs %.1fs, boot-to-poweroff %.1fs (qemu rc %d)\n' \
	"$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$(echo "$t3 - $t2" | bc)" "$qrc"
if [ "$qrc" -eq 124 ]; then
	echo "FAIL: qemu timed out after ${TIMEOUT}s"
	exit 1
fi
if grep -q "PASS" "$log" && grep -q "TEST-EXIT 0" "$log"; then
	echo "PASS: $TEST_CMD under QEMU/SVM"
	exit 0
fi
echo "FAIL: $TEST_CMD under QEMU/SVM"
exit 1
