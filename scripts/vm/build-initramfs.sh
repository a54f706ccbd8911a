#!/usr/bin/env bash
# build-initramfs.sh OUT.cpio.gz [EXTRA_BINARY...]
#
# A busybox-static initramfs holding fuse.ko, cuse.ko and cused-tramp.ko
# (insmod'ed by /init), tramp_smoke and any extra static binaries (all in
# /bin).  /init runs $TEST_CMD (default: tramp_smoke), prints
# "TEST-EXIT <status>" and powers off.
#
# Inputs from the environment (run-qemu-svm.sh sets them): KMOD_KO, KMODDIR
# (the guest kernel's /lib/modules/$KVER), SMOKE_BIN, TEST_CMD.
set -euo pipefail
. "$(dirname "$0")/common.sh"

out=${1:?usage: build-initramfs.sh OUT.cpio.gz [EXTRA_BINARY...]}
shift
vm_need_pkgs busybox-static cpio
: "${KMOD_KO:?}" "${KMODDIR:?}" "${SMOKE_BIN:?}"
TEST_CMD=${TEST_CMD:-tramp_smoke}

root=$(mktemp -d "$VM_CACHE/initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,lib/modules}
cp /bin/busybox "$root/bin/busybox"
cp "$KMODDIR/kernel/fs/fuse/fuse.ko" "$KMODDIR/kernel/fs/fuse/cuse.ko" "$KMOD_KO" "$root/lib/modules/"
cp "$SMOKE_BIN" "$root/bin/tramp_smoke"
for b in "$@"; do cp "$b" "$root/bin/"; done
printf '%s\n' "$TEST_CMD" >"$root/etc/test-cmd"

cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "guest: $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpus, virt: $(grep -o -w -m1 -E 'svm|vmx' /proc/cpuinfo)"
insmod /lib/modules/fuse.ko && insmod /lib/modules/cuse.ko && echo "guest: fuse+cuse loaded, $(ls /dev/cuse 2>&1)"
if insmod /lib/modules/cused-tramp.ko; then echo "guest: cused-tramp loaded"; else echo "guest: insmod cused-tramp failed"; fi
dmesg | grep -E 'cused-tramp' | sed 's/^/guest-dmesg: /'
ls -l /dev/cused-tramp 2>&1 | sed 's/^/guest: /'
sh -c "$(cat /etc/test-cmd)"
rc=$?
echo "TEST-EXIT $rc"
dmesg | grep -iE 'cused-tramp|BUG|WARNING|Oops|general protection' | sed 's/^/guest-dmesg: /'
if rmmod cused-tramp; then echo "guest: cused-tramp unloaded"; else echo "guest: rmmod failed"; fi
sleep 1
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
vm_log "initramfs $out ($(du -h "$out" | cut -f1))"
