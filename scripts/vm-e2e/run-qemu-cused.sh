#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-qemu-cused.sh [BUILD] [SUBTEST]
#
# End to end on the kmod backend: boots Debian's 6.1 kernel under QEMU TCG
# (-cpu max: AMD SVM emulated) with an initramfs whose init loads fuse, cuse
# and cused-tramp.ko, starts `cused --backend kmod --frontend cuse`, waits
# for /dev/cused-kvm and runs `cused-run --device /dev/cused-kvm kvmtest
# SUBTEST` (default modes).  The trace printed between markers on the serial
# console is compared with `kvmtest SUBTEST` on this machine's /dev/kvm (run
# now; host_known from tests/integration/lib.sh applied to the host trace).
#
# Exit 0 PASS (identical), 1 FAIL (diff printed), 77 SKIP (qemu, the
# kernel, the module, or the host /dev/kvm cannot be had; reason printed).
#
# Reuses scripts/vm/common.sh and build-initramfs.sh (kernel image, module
# build, busybox initramfs); the cused binaries and their shared libraries
# (ldd) go into a second cpio archive appended to that initramfs.
# Knobs: VM_TIMEOUT (s, default 300), VM_SMP (default 2), VM_APPEND,
# CUSED_E2E_CACHE (default $XDG_CACHE_HOME/cused-vm-e2e), CUSED_E2E_DEBUG=1
# (daemon --debug), KEEP_WORK=1, CUSED_E2E_NO_BUILD=1 (do not run ninja first).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || { echo "SKIP: no build directory ${1:-build}"; exit 77; }
SUB=${2:-modes}
TIMEOUT=${VM_TIMEOUT:-300}

# our own cache: ~/.cache/cused-vm is scripts/vm's; its unpacked kernel is reused read-only
OTHER_CACHE=${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/cused-vm
export VM_CACHE=${CUSED_E2E_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/cused-vm-e2e}
mkdir -p "$VM_CACHE"
# shellcheck source=../vm/common.sh
. "$ROOT/scripts/vm/common.sh"
# shellcheck source=../../tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"     # host_known; its skip() exits 77 too

t0=$(date +%s.%N)
vm_need_pkgs qemu-system-x86 gcc make libc6-dev bc busybox-static cpio
command -v qemu-system-x86_64 >/dev/null || vm_skip "qemu-system-x86_64 not installed"

# the binaries under test
CUSED_BIN=$BUILD/cused/frontend/cused
CUSED_RUN_BIN=$BUILD/cused/shim/cused-run
LIBCUSED=$BUILD/cused/shim/libcused.so
KVMTEST_BIN=$BUILD/tests/integration/kvmtest
GUEST_DIR=$BUILD/tests/guest
# meson test has built everything already (and holds the build directory)
if [ -z "${CUSED_E2E_NO_BUILD:-}" ]; then
	ninja -C "$BUILD" >"$VM_CACHE/ninja.log" 2>&1 ||
		{ cat "$VM_CACHE/ninja.log"; echo "FAIL: ninja -C $BUILD"; exit 1; }
fi
for f in "$CUSED_BIN" "$CUSED_RUN_BIN" "$LIBCUSED" "$KVMTEST_BIN"; do
	[ -e "$f" ] || vm_skip "$f not built"
done
ls "$GUEST_DIR"/*.bin >/dev/null 2>&1 || vm_skip "no guest images in $GUEST_DIR"

# the reference trace, first: no point booting if the host cannot give one
[ -c /dev/kvm ] || vm_skip "/dev/kvm missing: no host trace to compare against"
WORK=$(mktemp -d /tmp/cused-e2e.XXXXXX)
"$KVMTEST_BIN" --dev /dev/kvm --guest-dir "$GUEST_DIR" "$SUB" >"$WORK/host.raw" 2>"$WORK/host.err" ||
	{ cat "$WORK/host.err"; echo "FAIL: kvmtest $SUB fails on the host's /dev/kvm itself"; exit 1; }
host_known <"$WORK/host.raw" >"$WORK/host.trace"

# kernel (the colleague's unpacked image if there is one), module, smoke binary
KHDR=$(ls -d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null | sort -V | tail -1)
if [ -n "$KHDR" ]; then
	kv=${KHDR#/usr/src/linux-headers-}
	[ -e "$VM_CACHE/linux-image-$kv" ] || [ ! -f "$OTHER_CACHE/linux-image-$kv/boot/vmlinuz-$kv" ] ||
		ln -s "$OTHER_CACHE/linux-image-$kv" "$VM_CACHE/linux-image-$kv"
fi
vm_kernel
vm_build_module e2e || vm_skip "cused-tramp.ko does not build against $KHDR (log $VM_CACHE/kmod-src-e2e.log)"
vm_build_smoke e2e || vm_skip "tramp_smoke does not build statically"
t1=$(date +%s.%N)

# second archive: cused, its launcher, shim, kvmtest, guest images, shared libs
over=$WORK/overlay
mkdir -p "$over/opt/cused/guest" "$over/bin" "$over/lib64" "$over/lib/x86_64-linux-gnu" "$over/run" "$over/tmp"
cp "$CUSED_BIN" "$CUSED_RUN_BIN" "$LIBCUSED" "$KVMTEST_BIN" "$over/opt/cused/"
cp "$GUEST_DIR"/*.bin "$over/opt/cused/guest/"
for lib in $(ldd "$CUSED_BIN" "$CUSED_RUN_BIN" "$LIBCUSED" "$KVMTEST_BIN" 2>/dev/null |
	     awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*[^:]$/ && $2 ~ /^\(/ { print $1 }' | sort -u); do
	mkdir -p "$over$(dirname "$lib")"
	cp -L "$lib" "$over$lib"
done
DBG=
[ -n "${CUSED_E2E_DEBUG:-}" ] && DBG=--debug
cat >"$over/bin/cused-e2e.sh" <<EOF
#!/bin/sh
# runs inside the emulated machine as build-initramfs.sh's TEST_CMD
export PATH=/bin:/opt/cused
mkdir -p /run /tmp
t0=\$(cut -d' ' -f1 /proc/uptime)
/opt/cused/cused --backend kmod --frontend cuse $DBG >/tmp/cused.log 2>&1 &
pid=\$!
i=0
while [ ! -e /dev/cused-kvm ] && [ \$i -lt 200 ] && kill -0 \$pid 2>/dev/null; do sleep 0.1; i=\$((i+1)); done
if [ ! -e /dev/cused-kvm ]; then
	echo "E2E-ERROR: cused did not create /dev/cused-kvm"
	echo "E2E-LOG-BEGIN"; cat /tmp/cused.log; echo "E2E-LOG-END"
	exit 1
fi
echo "guest: cused up after \$(cut -d' ' -f1 /proc/uptime)s uptime (started at \${t0}s)"
cused-run --device /dev/cused-kvm /opt/cused/kvmtest --guest-dir /opt/cused/guest $SUB >/tmp/trace 2>/tmp/trace.err
rc=\$?
echo "guest: kvmtest done at \$(cut -d' ' -f1 /proc/uptime)s uptime, status \$rc"
echo "E2E-TRACE-BEGIN"
cat /tmp/trace
echo "E2E-TRACE-END"
echo "E2E-STDERR-BEGIN"; cat /tmp/trace.err; echo "E2E-STDERR-END"
echo "E2E-LOG-BEGIN"; cat /tmp/cused.log; echo "E2E-LOG-END"
kill \$pid 2>/dev/null
sleep 0.5
exit \$rc
EOF
chmod +x "$over/bin/cused-e2e.sh"

export KMOD_KO KMODDIR SMOKE_BIN
export TEST_CMD=/bin/cused-e2e.sh
img=$VM_CACHE/initramfs-e2e.cpio.gz
"$ROOT/scripts/vm/build-initramfs.sh" "$WORK/base.cpio.gz" >/dev/null 2>"$WORK/initramfs.log" ||
	{ cat "$WORK/initramfs.log"; echo "FAIL: build-initramfs.sh"; exit 1; }
# the kernel unpacks concatenated archives in order; later files win
(cd "$over" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/overlay.cpio.gz"
cat "$WORK/base.cpio.gz" "$WORK/overlay.cpio.gz" >"$img"
t2=$(date +%s.%N)

log=$VM_CACHE/serial-e2e.log
vm_log "booting $KVER under qemu TCG (timeout ${TIMEOUT}s), serial log $log"
timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -smp "${VM_SMP:-2}" -m 1024 \
	-nographic -no-reboot -kernel "$VMLINUZ" -initrd "$img" \
	-append "console=ttyS0 panic=-1 ${VM_APPEND:-quiet}" </dev/null >"$log" 2>&1
qrc=$?
t3=$(date +%s.%N)
tr -d '\r' <"$log" >"$WORK/serial"
sed -n '/^E2E-TRACE-BEGIN$/,/^E2E-TRACE-END$/p' "$WORK/serial" | sed '1d;$d' >"$WORK/cused.trace"

# console outside the trace, for the record
sed '/^E2E-TRACE-BEGIN$/,/^E2E-TRACE-END$/d' "$WORK/serial" | grep -vE '^\s*$' | sed 's/^/  | /'
printf 'vm-e2e: prepare %.1fs, initramfs %.1fs, boot-to-poweroff %.1fs (qemu rc %d)\n' \
	"$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$(echo "$t3 - $t2" | bc)" "$qrc"
keep() { echo "(traces and serial log kept in $WORK)"; }
if [ "$qrc" -eq 124 ]; then
	echo "FAIL: qemu timed out after ${TIMEOUT}s"
	keep
	exit 1
fi
if ! grep -q '^E2E-TRACE-BEGIN$' "$WORK/serial"; then
	echo "FAIL: the guest printed no trace"
	keep
	exit 1
fi
if diff -u --label "host $SUB" --label "kmod-in-qemu $SUB" "$WORK/host.trace" "$WORK/cused.trace" \
	>"$WORK/diff"; then
	echo "PASS: kvmtest $SUB on cused --backend kmod under QEMU/SVM matches the host /dev/kvm" \
	     "($(wc -l <"$WORK/host.trace") lines)"
	[ -n "${KEEP_WORK:-}" ] && keep || rm -rf "$WORK"
	exit 0
fi
cat "$WORK/diff"
echo "FAIL: kvmtest $SUB traces differ (host vs cused/kmod in QEMU)"
keep
exit 1
