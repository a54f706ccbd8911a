#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-qemu-cused.sh [BUILD [SUBTEST...]]
#
# End to end on the kmod backend: boots Debian's 6.1 kernel under QEMU TCG
# (-cpu max: AMD SVM emulated) with an initramfs whose init loads fuse, cuse
# and cused-tramp.ko, starts `cused --backend kmod --frontend cuse`, waits
# for /dev/cused-kvm and, in that one boot, runs `cused-run --device
# /dev/cused-kvm kvmtest SUBTEST` for every SUBTEST (default: modes smp
# badargs features-kmod kill).  Each trace printed between markers on the serial console is
# compared with `kvmtest SUBTEST` on this machine's /dev/kvm (run now;
# host_known from tests/integration/lib.sh applied to the host trace, and
# kmod_known below for the differences the kmod backend has by design).
#
# `features-kmod` is `kvmtest features $KMOD_FEATURES`: the features
# scenarios the kmod backend supports (all but `step`: no guest debugging
# there, caps.guest_debug is false), compared with the host's trace of the
# same subset.
#
# `kill` is tests/integration/kill-test.sh inside the guest: `kvmtest hold`
# under cused-run in the background, wait until the daemon holds 1 VM and 1
# vCPU, SIGKILL the client, require 0 and 0 again within 5 s, then `kvmtest
# modes` on the same daemon must match the host.  CUSE has no status file,
# so the counts are read from outside the daemon: its fds on /dev/cused-tramp
# (one per VM) and its mappings of the clients' cused-kvm-run memfds (one per
# vCPU) in /proc/PID/{fd,maps}.
#
# One line "PASS: ..." or "FAIL: ..." per subtest.  Exit 0 if all pass, 1 if
# any fails (diffs printed), 77 SKIP (qemu, the kernel, the module, or the
# host /dev/kvm cannot be had; reason printed).
#
# Reuses scripts/vm/common.sh and build-initramfs.sh (kernel image, module
# build, busybox initramfs); the cused binaries and their shared libraries
# (ldd) go into a second cpio archive appended to that initramfs.
# VM_LAUNCHER=bochs boots the same initramfs under Bochs 2.7 instead
# (corei7_skylake_x: Intel VMX emulated; scripts/vm/bochs.sh), for the
# module's VMX side; the guest side and the comparison are the same.
# `selftests` (for scripts/conformance/selftests --kmod): the prebuilt KVM
# selftest binaries CONF_SELFTESTS (names, e.g. "kvm_create_max_vcpus
# x86_64/set_sregs_test") from directory CONF_SELFTESTS_DIR, each under
# cused-run with a CONF_SELFTESTS_TIMEOUT (default 60 s) limit; output and
# exit status go to CONF_SELFTESTS_OUT/NAME.{log,rc} (NAME with / as _), a
# daemon that died during a test is noted in the log and restarted.  No
# PASS/FAIL line: the caller reads those files.
# `linux` (issue 7): unmodified qemu-system-x86_64 (this machine's, with its
# libraries and the firmware it loads: bios-256k.bin, kvmvapic.bin,
# linuxboot_dma.bin) runs `-accel kvm` under cused-run on /dev/cused-kvm
# and boots the same vmlinuz with a busybox initramfs whose /init prints
# "E2E-NESTED-INIT cpus=N" and powers off.  One boot per case in
# LINUX_CASES (default "smp2 split split2"; see lx_flags), each within
# LINUX_TIMEOUT s (default 900; QEMU stopped at once on a KVM internal
# error or a failed KVM_RUN), inner command line LINUX_APPEND.  PASS needs
# QEMU's status 0 and the CPU count the case asks for; the line gives the
# boot's time (QEMU start to exit, outer guest's clock).
# Knobs: VM_TIMEOUT (s, default 300; 2400 under Bochs), VM_SMP (default 2;
# Bochs CPUs too), VM_MEM (MiB, default 1024), VM_APPEND,
# CUSED_E2E_CACHE (default $XDG_CACHE_HOME/cused-vm-e2e), CUSED_E2E_DEBUG=1
# (daemon --debug), KEEP_WORK=1, CUSED_E2E_NO_BUILD=1 (do not run ninja first).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || { echo "SKIP: no build directory ${1:-build}"; exit 77; }
shift $(( $# > 0 ? 1 : 0 ))
[ $# -gt 0 ] || set -- modes smp badargs features-kmod kill
# the features scenarios cused on kmod supports (features.c names them)
KMOD_FEATURES="dirty translate irq readonly fpu regs"
SUBS=   # kvmtest subtests run as such (features-kmod: features $KMOD_FEATURES)
KILL=0  # the kill check (and kvmtest modes after it)
SELFTESTS=  # KVM selftests to run (the `selftests` subtest)
LINUX=      # nested Linux boots to run (the `linux` subtest): case names
# lx_flags CASE: the inner QEMU's flags for a `linux` case (the guest's /init
# must then count 2 CPUs for a case named *2, else 1)
lx_flags() {
	case $1 in
	smp1) echo "-smp 1" ;;
	smp2) echo "-smp 2" ;;
	split) echo "-M pc,kernel-irqchip=split" ;;
	split2) echo "-M pc,kernel-irqchip=split -smp 2" ;;
	*) return 1 ;;
	esac
}
for s in "$@"; do
	case $s in
	kill) KILL=1 ;;
	linux) LINUX=${LINUX_CASES:-smp2 split split2}
	       for c in $LINUX; do lx_flags "$c" >/dev/null || { echo "unknown LINUX_CASES case $c"; exit 2; }; done ;;
	selftests) SELFTESTS=${CONF_SELFTESTS:?selftests needs CONF_SELFTESTS} ;;
	modes|smp|badargs|features|features-kmod) SUBS="$SUBS${SUBS:+ }$s" ;;
	*) echo "usage: $0 [BUILD [modes|smp|badargs|features|features-kmod|kill|selftests|linux]...]"; exit 2 ;;
	esac
done
# sub_args SUBTEST: kvmtest's arguments for it
sub_args() {
	case $1 in
	features-kmod) echo "features $KMOD_FEATURES" ;;
	*) echo "$1" ;;
	esac
}
LAUNCHER=${VM_LAUNCHER:-qemu}
case $LAUNCHER in
qemu) WHERE="QEMU/SVM"; TIMEOUT=${VM_TIMEOUT:-300} ;;
bochs) WHERE="Bochs/VMX"; TIMEOUT=${VM_TIMEOUT:-2400} ;;
*) echo "VM_LAUNCHER must be qemu or bochs"; exit 2 ;;
esac

# our own cache: ~/.cache/cused-vm is scripts/vm's; its unpacked kernel is reused read-only
OTHER_CACHE=${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/cused-vm
export VM_CACHE=${CUSED_E2E_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/cused-vm-e2e}
mkdir -p "$VM_CACHE"
# shellcheck source=../vm/common.sh
. "$ROOT/scripts/vm/common.sh"
# shellcheck source=../vm/bochs.sh
. "$ROOT/scripts/vm/bochs.sh"
# shellcheck source=../../tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"     # host_known; its skip() exits 77 too

# The ways the kmod backend differs from the host /dev/kvm by design,
# rewritten in the host's expected trace for this comparison only (on top of
# host_known), and only to what cused on kmod is meant to answer:
# - vcpu.set_guest_debug_bad_flags (badargs): the kmod backend offers no guest
#   debugging, KVM_CAP_SET_GUEST_DEBUG is 0 there, so cused refuses every
#   KVM_SET_GUEST_DEBUG with EINVAL (cused/kvm/vcpu.c) before looking at the
#   flags; the host's /dev/kvm has the capability and accepts the call.
# - fpu (features): KVM keeps guest FPU state in an XSAVE buffer and
#   KVM_SET_FPU leaves XSTATE_BV alone, so x87/SSE state set before the guest
#   ever used that component enters the guest in its init state (the guest
#   sees FCW 0x037f) while KVM_GET_FPU keeps reporting the client's values.
#   The module keeps a plain FXSAVE image and loads exactly what the client
#   set, as KVM_SET_FPU is documented to do: the guest sees FCW 0x0f7f, and
#   XMM0, set by the client and not touched by the guest, reads back as set.
kmod_known() {
	sed -E -e 's/^(vcpu\.set_guest_debug_bad_flags +)ret=0 errno=0$/\1ret=-1 errno=EINVAL/' \
	       -e 's/^(fpu after guest  fcw=0x0f7f fsw=0x0000 ftwx=0x00 xmm0=)00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00( xmm1=)/\100 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f\2/' \
	       -e 's/^(fpu guest saw fcw=)0x037f( xmm0=30 31)/\10x0f7f\2/'
}

t0=$(date +%s.%N)
vm_need_pkgs gcc make libc6-dev bc busybox-static cpio
if [ "$LAUNCHER" = bochs ]; then
	vm_bochs_pkgs
	command -v bochs >/dev/null || vm_skip "bochs not installed"
else
	vm_need_pkgs qemu-system-x86
	command -v qemu-system-x86_64 >/dev/null || vm_skip "qemu-system-x86_64 not installed"
fi

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

# the reference traces, first: no point booting if the host cannot give them
[ -c /dev/kvm ] || vm_skip "/dev/kvm missing: no host trace to compare against"
WORK=$(mktemp -d /tmp/cused-e2e.XXXXXX)
host_subs=$SUBS
[ $KILL = 1 ] && [[ " $SUBS " != *" modes "* ]] && host_subs="$SUBS${SUBS:+ }modes"
for sub in $host_subs; do
	# shellcheck disable=SC2046 # sub_args is meant to split
	"$KVMTEST_BIN" --dev /dev/kvm --guest-dir "$GUEST_DIR" $(sub_args "$sub") >"$WORK/host.$sub.raw" 2>"$WORK/host.$sub.err" ||
		{ cat "$WORK/host.$sub.err"; echo "FAIL: kvmtest $sub fails on the host's /dev/kvm itself"; exit 1; }
	host_known <"$WORK/host.$sub.raw" | kmod_known >"$WORK/host.$sub"
done

# kernel (the colleague's unpacked image if there is one), module, smoke binary
KHDR=$(ls -d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null | sort -V | tail -1)
if [ -n "$KHDR" ]; then
	kv=${KHDR#/usr/src/linux-headers-}
	[ -e "$VM_CACHE/linux-image-$kv" ] || [ ! -f "$OTHER_CACHE/linux-image-$kv/boot/vmlinuz-$kv" ] ||
		ln -s "$OTHER_CACHE/linux-image-$kv" "$VM_CACHE/linux-image-$kv"
fi
vm_kernel
vm_build_module "e2e-$LAUNCHER" || vm_skip "cused-tramp.ko does not build against $KHDR (log $VM_CACHE/kmod-src-e2e-$LAUNCHER.log)"
vm_build_smoke "e2e-$LAUNCHER" || vm_skip "tramp_smoke does not build statically"
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
# glibc dlopen()s libgcc_s for pthread_cancel and unwinding (xapic_ipi_test
# cancels its vCPU threads); ldd does not list it
gcc_s=$(ldconfig -p | awk '$1 == "libgcc_s.so.1" && $NF ~ /x86_64|^\/lib\/x86_64/ { print $NF; exit }')
[ -n "$gcc_s" ] && mkdir -p "$over$(dirname "$gcc_s")" && cp -L "$gcc_s" "$over$gcc_s"
for t in $SELFTESTS; do
	mkdir -p "$over/opt/selftests/$(dirname "$t")"
	cp "$CONF_SELFTESTS_DIR/$t" "$over/opt/selftests/$t" || { echo "FAIL: no selftest $t"; exit 1; }
done
# the `linux` subtest: QEMU itself, what it loads, the same kernel and a
# busybox initramfs whose /init prints the CPU count and powers off
# the inner kernel's command line: kvmclock is not offered on kmod; every
# console character is an exit through two hypervisors (quiet); the rest
# trims boot work that costs the nested guest exits
LX_APPEND="console=ttyS0 panic=-1 ${LINUX_APPEND:-quiet no-kvmclock mitigations=off nokaslr tsc=reliable no_timer_check}"
if [ -n "$LINUX" ]; then
	qemu=$(command -v qemu-system-x86_64)
	mkdir -p "$over/opt/qemu/share"
	cp "$qemu" "$over/opt/qemu/"
	for f in seabios/bios-256k.bin qemu/kvmvapic.bin qemu/linuxboot_dma.bin; do
		cp -L "/usr/share/$f" "$over/opt/qemu/share/" || { echo "FAIL: no /usr/share/$f"; exit 1; }
	done
	for lib in $(ldd "$qemu" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*[^:]$/ && $2 ~ /^\(/ { print $1 }' | sort -u); do
		mkdir -p "$over$(dirname "$lib")"
		cp -L "$lib" "$over$lib"
	done
	cp "$VMLINUZ" "$over/opt/qemu/vmlinuz"
	inner=$WORK/inner
	mkdir -p "$inner/bin" "$inner/proc" "$inner/dev"
	cp /bin/busybox "$inner/bin/busybox"
	cat >"$inner/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "E2E-NESTED-INIT cpus=$(/bin/busybox grep -c ^processor /proc/cpuinfo) uptime=$(/bin/busybox cut -d' ' -f1 /proc/uptime)"
/bin/busybox poweroff -f
INIT
	chmod +x "$inner/init"
	(cd "$inner" && find . | cpio -o -H newc --quiet | gzip -1) >"$over/opt/qemu/inner.cpio.gz"
fi
DBG=
[ -n "${CUSED_E2E_DEBUG:-}" ] && DBG=--debug
{
	cat <<EOF
#!/bin/sh
# runs inside the emulated machine as build-initramfs.sh's TEST_CMD
SUBS="$SUBS"
KMOD_FEATURES="$KMOD_FEATURES"
KILL=$KILL
DBG=$DBG
SELFTESTS="$SELFTESTS"
ST_TMO=${CONF_SELFTESTS_TIMEOUT:-60}
LINUX="$LINUX"
LX_TMO=${LINUX_TIMEOUT:-900}
LX_APPEND="$LX_APPEND"
$(for c in $LINUX; do echo "LXF_$c=\"$(lx_flags "$c")\""; done)
EOF
	cat <<'EOF'
export PATH=/bin:/opt/cused
mkdir -p /run /tmp
ip link set lo up 2>/dev/null   # the nested QEMU's monitor listens on 127.0.0.1
up() { cut -d' ' -f1 /proc/uptime; }
t0=$(up)
/opt/cused/cused --backend kmod --frontend cuse $DBG >/tmp/cused.log 2>&1 &
pid=$!
i=0
while [ ! -e /dev/cused-kvm ] && [ $i -lt 200 ] && kill -0 $pid 2>/dev/null; do sleep 0.1; i=$((i+1)); done
if [ ! -e /dev/cused-kvm ]; then
	echo "E2E-ERROR: cused did not create /dev/cused-kvm"
	echo "E2E-LOG-BEGIN"; cat /tmp/cused.log; echo "E2E-LOG-END"
	exit 1
fi
echo "guest: cused up after $(up)s uptime (started at ${t0}s)"
failed=0

# run_sub NAME SUBTEST: kvmtest SUBTEST under cused-run; its trace, status
# and stderr between markers named NAME
run_sub() {
	args=$2
	[ "$2" = features-kmod ] && args="features $KMOD_FEATURES"
	# shellcheck disable=SC2086 # args is meant to split
	cused-run --device /dev/cused-kvm /opt/cused/kvmtest --guest-dir /opt/cused/guest $args \
		>"/tmp/trace.$1" 2>"/tmp/err.$1"
	rc=$?
	echo "guest: $1 done at $(up)s uptime, status $rc"
	echo "E2E-TRACE-BEGIN $1"; cat "/tmp/trace.$1"; echo "E2E-TRACE-END $1"
	echo "E2E-STATUS $1 $rc"
	[ -s "/tmp/err.$1" ] && { echo "E2E-STDERR-BEGIN $1"; cat "/tmp/err.$1"; echo "E2E-STDERR-END $1"; }
	[ $rc -eq 0 ] || failed=1
}

for sub in $SUBS; do
	run_sub "$sub" "$sub"
done

# Kill check (tests/integration/kill-test.sh without the status file, which
# CUSE does not have).  The daemon's live VMs and vCPUs, read from outside:
# each VM holds one fd on /dev/cused-tramp (kmod_vm_create), each vCPU one
# mapping of its client's "cused-kvm-run" memfd (vcpu_attach_run; unmapped in
# vcpu_put).  The thread count is printed for the record only: libfuse keeps
# idle worker threads, so it need not return to where it was.
tramp_fds() {
	n=0
	for f in "/proc/$pid/fd/"*; do
		[ "$(readlink "$f")" = /dev/cused-tramp ] && n=$((n+1))
	done
	echo $n
}
state() {
	echo "vms $(( $(tramp_fds) - base_fds )) vcpus $(grep -c 'memfd:cused-kvm-run' /proc/$pid/maps)"
}
threads() { ls /proc/$pid/task | wc -l; }
# wait_state "vms N vcpus N" TENTHS
wait_state() {
	i=0
	while [ "$(state)" != "$1" ] && [ $i -lt "$2" ]; do sleep 0.1; i=$((i+1)); done
	[ "$(state)" = "$1" ]
}
kill_check() {
	base_fds=$(tramp_fds)
	base=$(state); base_thr=$(threads)
	echo "guest: kill: daemon before: $base, threads $base_thr"
	[ "$base" = "vms 0 vcpus 0" ] || { echo "E2E-KILL FAIL daemon not idle before the hold: $base"; return 1; }
	cused-run --device /dev/cused-kvm /opt/cused/kvmtest --guest-dir /opt/cused/guest hold \
		>/tmp/hold.out 2>&1 &
	launcher=$!
	client=
	i=0
	while [ -z "$client" ] && [ $i -lt 100 ] && kill -0 $launcher 2>/dev/null; do
		client=$(sed -n 's/^hold: in guest pid \([0-9]*\)$/\1/p' /tmp/hold.out)
		[ -n "$client" ] || { sleep 0.1; i=$((i+1)); }
	done
	if [ -z "$client" ]; then
		kill -KILL $launcher 2>/dev/null
		echo "E2E-KILL FAIL hold client never entered its guest: $(cat /tmp/hold.out)"
		return 1
	fi
	if ! wait_state "vms 1 vcpus 1" 50; then
		kill -KILL "$client" $launcher 2>/dev/null
		echo "E2E-KILL FAIL with one held vCPU the daemon shows: $(state)"
		return 1
	fi
	echo "guest: kill: holding (client pid $client): $(state), threads $(threads)"
	sleep 0.2 # let the vCPU settle inside KVM_RUN
	kill -KILL "$client"
	kill -KILL $launcher 2>/dev/null # cused-run execs: normally the same process
	wait $launcher 2>/dev/null
	k0=$(up)
	if ! wait_state "vms 0 vcpus 0" 50; then
		echo "E2E-KILL FAIL 5 s after SIGKILL the daemon still shows: $(state)"
		return 1
	fi
	echo "guest: kill: released $(echo "$(up) $k0" | awk '{ printf "%.2f", $1 - $2 }')s after SIGKILL: $(state), threads $(threads)"
	kill -0 $pid 2>/dev/null || { echo "E2E-KILL FAIL cused died"; return 1; }
	echo "E2E-KILL ok"
}
# the KVM selftests (scripts/conformance/selftests --kmod): status and output
# per test between markers; a dead daemon is noted and replaced.  POSIX
# semaphores (sem_open, hardware_disable_test) need /dev/shm.
[ -n "$SELFTESTS" ] && mkdir -p /dev/shm && mount -t tmpfs shm /dev/shm
for t in $SELFTESTS; do
	timeout "$ST_TMO" cused-run --device /dev/cused-kvm "/opt/selftests/$t" >/tmp/st.out 2>&1 </dev/null
	rc=$?
	if ! kill -0 $pid 2>/dev/null; then
		echo "daemon-crash: cused exited during $t" >>/tmp/st.out
		/opt/cused/cused --backend kmod --frontend cuse $DBG >>/tmp/cused.log 2>&1 &
		pid=$!
		i=0
		while [ ! -e /dev/cused-kvm ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
	fi
	echo "guest: selftest $t status $rc at $(up)s uptime"
	echo "E2E-SELFTEST-BEGIN $t"; cat /tmp/st.out; echo "E2E-SELFTEST-END $t"
	echo "E2E-SELFTEST-STATUS $t $rc"
done
# Nested Linux: unmodified QEMU with -accel kvm on /dev/cused-kvm boots the
# kernel this machine runs; the inner /init prints E2E-NESTED-INIT with its
# CPU count.  Output, status and seconds between markers per case.
lx_flags() { eval "echo \"\$LXF_$1\""; }
# lx_symbolize FILE: the kernel symbol of each RIP= in FILE, from this
# (same) kernel's kallsyms: the inner one runs with nokaslr at 0xffffffff81000000
lx_symbolize() {
	text=$(sed -n 's/^ffffffff\([0-9a-f]*\) T _text$/\1/p' /proc/kallsyms)
	[ -n "$text" ] || return 0
	for rip in $(sed -n 's/^RIP=ffffffff\([0-9a-f]\{8\}\) .*/\1/p' "$1"); do
		want=$(( 0x$text + 0x$rip - 0x81000000 ))
		awk -v want=$want 'function h(s,  i, n) { n = 0; for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return n }
			substr($1, 1, 8) == "ffffffff" { a = h(substr($1, 9)); if (a <= want && a > best) { best = a; name = $3 } }
			END { printf "RIP %s is %s+%#x\n", "'"$rip"'", name, want - best }' /proc/kallsyms >>"$1"
	done
}
# Calibrating the TSC against the PIT costs the nested guest minutes (each
# port read is an exit through two hypervisors): hand it the frequency this
# kernel found (the inner TSC runs at the same rate: SVM only offsets it).
khz=$(dmesg | sed -n 's/.*tsc: Detected \([0-9]*\)\.\([0-9]*\) MHz processor.*/\1\2/p' | head -n1)
[ -n "$khz" ] && [ -n "$LINUX" ] && LX_APPEND="$LX_APPEND tsc_early_khz=$khz" &&
	echo "guest: linux: tsc_early_khz=$khz"
for c in $LINUX; do
	s0=$(up)
	: >/tmp/linux.$c
	# shellcheck disable=SC2046 # the flags are meant to split
	cused-run --device /dev/cused-kvm /opt/qemu/qemu-system-x86_64 \
		-L /opt/qemu/share -accel kvm -m 128 $(lx_flags $c) \
		-nodefaults -vga none -net none -display none -serial stdio -no-reboot \
		-monitor tcp:127.0.0.1:4444,server=on,wait=off \
		-kernel /opt/qemu/vmlinuz -initrd /opt/qemu/inner.cpio.gz -append "$LX_APPEND" \
		</dev/null >/tmp/linux.$c 2>&1 &
	q=$!
	# QEMU stops (and waits forever) on a KVM internal error: end it then,
	# or after LX_TMO s; the last line once a minute, to see the progress
	n=0
	while kill -0 $q 2>/dev/null; do
		if [ $n -ge "$LX_TMO" ] || grep -qE 'KVM internal error|kvm run failed|KVM: entry failed' /tmp/linux.$c; then
			echo "guest: linux $c: stopping QEMU after ${n}s"
			# where the guest is, from QEMU's monitor, then quit
			{ for m in "info registers -a" "info lapic" "info pic" "info irq" "info registers"; do echo "$m"; sleep 1; done
			  sleep 2; echo quit; } | nc 127.0.0.1 4444 | tr -d '\r' | grep -vE '^\(qemu\)|^QEMU .* monitor' >>/tmp/linux.$c 2>&1
			sleep 1; kill $q 2>/dev/null; sleep 1; kill -KILL $q 2>/dev/null
			lx_symbolize /tmp/linux.$c
			break
		fi
		[ $((n % 60)) = 59 ] && echo "guest: linux $c ${n}s: $(tail -n1 /tmp/linux.$c | cut -c1-100)"
		sleep 1; n=$((n+1))
	done
	wait $q
	rc=$?
	secs=$(echo "$(up) $s0" | awk '{ printf "%.1f", $1 - $2 }')
	echo "guest: linux $c done at $(up)s uptime, status $rc, ${secs}s"
	echo "E2E-LINUX-BEGIN $c"; cat /tmp/linux.$c; echo "E2E-LINUX-END $c"
	echo "E2E-LINUX-STATUS $c $rc $secs"
	kill -0 $pid 2>/dev/null || { echo "guest: cused died during linux $c"; break; }
done
if [ "$KILL" = 1 ]; then
	kill_check || failed=1
	# the same daemon must still serve a fresh client identically
	run_sub kill-modes modes
fi

echo "E2E-LOG-BEGIN"; cat /tmp/cused.log; echo "E2E-LOG-END"
kill $pid 2>/dev/null
sleep 0.5
exit $failed
EOF
} >"$over/bin/cused-e2e.sh"
chmod +x "$over/bin/cused-e2e.sh"

export KMOD_KO KMODDIR SMOKE_BIN
export TEST_CMD=/bin/cused-e2e.sh
img=$VM_CACHE/initramfs-e2e-$LAUNCHER.cpio.gz
"$ROOT/scripts/vm/build-initramfs.sh" "$WORK/base.cpio.gz" >/dev/null 2>"$WORK/initramfs.log" ||
	{ cat "$WORK/initramfs.log"; echo "FAIL: build-initramfs.sh"; exit 1; }
# the kernel unpacks concatenated archives in order; later files win
(cd "$over" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/overlay.cpio.gz"
cat "$WORK/base.cpio.gz" "$WORK/overlay.cpio.gz" >"$img"
t2=$(date +%s.%N)

log=$VM_CACHE/serial-e2e-$LAUNCHER.log
vm_log "booting $KVER under $WHERE (timeout ${TIMEOUT}s), serial log $log"
if [ "$LAUNCHER" = bochs ]; then
	vm_bochs_boot "$WORK/bochs" "$VMLINUZ" "$img" "$log" "$TIMEOUT" "${VM_SMP:-2}" "${VM_MEM:-1024}"
	qrc=$?
else
	timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -smp "${VM_SMP:-2}" -m "${VM_MEM:-1024}" \
		-nographic -no-reboot -kernel "$VMLINUZ" -initrd "$img" \
		-append "console=ttyS0 panic=-1 ${VM_APPEND:-quiet}" </dev/null >"$log" 2>&1
	qrc=$?
fi
t3=$(date +%s.%N)
tr -d '\r' <"$log" >"$WORK/serial"
# block KIND NAME: the lines between E2E-KIND-BEGIN NAME and E2E-KIND-END NAME
block() {
	sed -n "/^E2E-$1-BEGIN $2\$/,/^E2E-$1-END $2\$/p" "$WORK/serial" | sed '1d;$d'
}

# console outside the traces, for the record
sed '/^E2E-TRACE-BEGIN /,/^E2E-TRACE-END /d' "$WORK/serial" | grep -vE '^\s*$' | sed 's/^/  | /'
printf 'vm-e2e: prepare %.1fs, initramfs %.1fs, boot-to-poweroff %.1fs (%s rc %d)\n' \
	"$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$(echo "$t3 - $t2" | bc)" "$LAUNCHER" "$qrc"
keep() { echo "(traces and serial log kept in $WORK)"; }
if [ "$qrc" -eq 124 ]; then
	echo "FAIL: $LAUNCHER timed out after ${TIMEOUT}s"
	keep
	exit 1
fi

# compare NAME SUB: the guest's trace NAME against the host's trace of SUB;
# prints the diff if any, returns 0 if identical and the guest's status was 0
compare() {
	local name=$1 sub=$2 st
	if ! grep -q "^E2E-TRACE-BEGIN $name\$" "$WORK/serial"; then
		echo "  the guest printed no trace for $name"
		return 1
	fi
	block TRACE "$name" >"$WORK/cused.$name"
	st=$(sed -n "s/^E2E-STATUS $name \([0-9]*\)\$/\1/p" "$WORK/serial")
	if ! diff -u --label "host $sub" --label "kmod-in-$LAUNCHER $name" "$WORK/host.$sub" "$WORK/cused.$name"; then
		return 1
	fi
	[ "$st" = 0 ] || { echo "  same trace but kvmtest exited with status ${st:-?} in the guest"; return 1; }
}

for t in $SELFTESTS; do
	f=$CONF_SELFTESTS_OUT/${t//\//_}
	sed -n "/^E2E-SELFTEST-BEGIN ${t//\//\\/}\$/,/^E2E-SELFTEST-END ${t//\//\\/}\$/p" "$WORK/serial" | sed '1d;$d' >"$f.log"
	sed -n "s/^E2E-SELFTEST-STATUS ${t//\//\\/} \([0-9]*\)\$/\1/p" "$WORK/serial" >"$f.rc"
done
failed=0
for sub in $SUBS; do
	if compare "$sub" "$sub" >"$WORK/diff.$sub"; then
		echo "PASS: kvmtest $(sub_args "$sub") on cused --backend kmod under $WHERE matches the host /dev/kvm" \
		     "($(wc -l <"$WORK/host.$sub") lines)"
	else
		cat "$WORK/diff.$sub"
		block STDERR "$sub" | sed 's/^/  stderr: /'
		echo "FAIL: kvmtest $(sub_args "$sub") differs (host vs cused/kmod in $WHERE)"
		failed=1
	fi
done
# linux: the marker with the CPU count the case asked for, QEMU's status 0
for c in $LINUX; do
	want=1
	case $c in *2) want=2 ;; esac
	read -r st secs < <(sed -n "s/^E2E-LINUX-STATUS $c \([0-9]*\) \([0-9.]*\)\$/\1 \2/p" "$WORK/serial")
	got=$(block LINUX "$c" | sed -n 's/^E2E-NESTED-INIT cpus=\([0-9]*\).*/\1/p')
	what="nested Linux $c (QEMU -accel kvm $(lx_flags "$c"))"
	if [ "$st" = 0 ] && [ "$got" = "$want" ]; then
		echo "PASS: $what on cused --backend kmod under $WHERE: /init saw $got CPUs, boot to poweroff ${secs}s"
	else
		block LINUX "$c" | tail -40 | sed 's/^/  linux: /'
		echo "FAIL: $what: status ${st:-none}, /init saw ${got:-no marker} CPUs (want $want), ${secs:-?}s"
		failed=1
	fi
done
if [ $KILL = 1 ]; then
	kres=$(sed -n 's/^E2E-KILL //p' "$WORK/serial")
	if [ "$kres" != ok ]; then
		echo "FAIL: kill: ${kres:-the guest did not finish the kill check}"
		failed=1
	elif compare kill-modes modes >"$WORK/diff.kill"; then
		echo "PASS: kill: SIGKILL in KVM_RUN released the VM and vCPU; kvmtest modes afterwards" \
		     "matches the host ($(wc -l <"$WORK/host.modes") lines)"
	else
		cat "$WORK/diff.kill"
		block STDERR kill-modes | sed 's/^/  stderr: /'
		echo "FAIL: kill: kvmtest modes after the kill differs from the host"
		failed=1
	fi
fi
if [ $failed -ne 0 ]; then
	keep
	exit 1
fi
[ -n "${KEEP_WORK:-}" ] && keep || rm -rf "$WORK"
exit 0
