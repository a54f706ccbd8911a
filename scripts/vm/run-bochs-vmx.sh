#!/usr/bin/env bash
# run-bochs-vmx.sh [TEST_CMD]
#
# Intel VMX check under Bochs 2.7 (Debian's build emulates VMX): boots the
# same Debian 6.1 kernel + initramfs from an isolinux ISO with a Skylake-X
# CPU model, loads cused-tramp.ko and reports whether VMXON succeeded.
# Slow (about 2-3 minutes); not for CI.  Exit 0 VMXON ok, 1 not, 77 skip.
set -uo pipefail
. "$(dirname "$0")/common.sh"

TEST_CMD=${1:-"tramp_smoke; true"}
TIMEOUT=${VM_TIMEOUT:-900}
vm_need_pkgs bochs bochsbios vgabios isolinux syslinux-common genisoimage gcc make libc6-dev
vm_kernel
vm_build_module vmx || exit 1
vm_build_smoke vmx || exit 1
export KMOD_KO KMODDIR SMOKE_BIN TEST_CMD
"$REPO/scripts/vm/build-initramfs.sh" "$VM_CACHE/initramfs-vmx.cpio.gz" || exit $?

work=$VM_CACHE/bochs
rm -rf "$work"
mkdir -p "$work/iso/isolinux"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$work/iso/isolinux/"
cp "$VMLINUZ" "$work/iso/vmlinuz"
cp "$VM_CACHE/initramfs-vmx.cpio.gz" "$work/iso/initrd"
cat >"$work/iso/isolinux/isolinux.cfg" <<'CFG'
default cused
prompt 0
timeout 0
label cused
  kernel /vmlinuz
  append initrd=/initrd console=ttyS0 panic=-1 quiet
CFG
genisoimage -quiet -o "$work/boot.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table -R -J "$work/iso" || exit 1

cat >"$work/bochsrc" <<RC
cpu: model=corei7_skylake_x
megs: 512

ata0-master: type=cdrom, path=boot.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=serial.out
display_library: rfb, options="timeout=0"
speaker: enabled=0
sound: driver=dummy
clock: sync=none
log: bochs.log
RC
echo c >"$work/bochs.rc"

vm_log "booting $KVER under Bochs (VMX, timeout ${TIMEOUT}s)"
t0=$(date +%s)
(cd "$work" && timeout "$TIMEOUT" bochs -q -f bochsrc -rc bochs.rc </dev/null >bochs.stdout 2>&1)
brc=$?
t1=$(date +%s)
tr -d '\r' <"$work/serial.out" | grep -avE '^\s*$' | sed 's/^/  | /'
echo "vm: boot-to-poweroff $((t1 - t0))s (bochs rc $brc)"
if grep -aqE "VMXON ok on [1-9]" "$work/serial.out"; then
	echo "PASS: cused-tramp did VMXON under Bochs"
	exit 0
fi
echo "FAIL: no VMXON success in the serial log (see $work/bochs.log)"
exit 1
