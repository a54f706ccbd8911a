# shellcheck shell=bash
# Bochs launcher shared by scripts/vm/run-bochs-vmx.sh and
# scripts/vm-e2e/run-qemu-cused.sh (VM_LAUNCHER=bochs).  Source it after
# common.sh; do not run it.
#
# Debian's bochs 2.7 emulates Intel VMX with `cpu: model=corei7_skylake_x`.
# It has no -kernel option: the kernel and initramfs go on an isolinux ISO.
# Its build has no "nogui" display, only rfb (timeout=0: do not wait for a
# viewer); `sound: driver=dummy` or it aborts in its mixer thread; its
# debugger is built in, so it is started with `-rc FILE` holding `c`.

vm_bochs_pkgs() {
	vm_need_pkgs bochs bochsbios vgabios isolinux syslinux-common genisoimage
}

# vm_bochs_boot WORKDIR VMLINUZ INITRD SERIAL_LOG TIMEOUT_S [CPUS] [MEGS]
# Boots VMLINUZ+INITRD (console on COM1, written to SERIAL_LOG) under a
# `timeout` around bochs, so a hung guest ends the run.  Returns bochs's
# (or timeout's 124) status; 0 also when the guest printed its last line
# (build-initramfs.sh's init: "guest: cused-tramp unloaded" or "guest:
# rmmod failed") and bochs was stopped 3 s later: with 2 CPUs, Debian's
# kernel under Bochs 2.7 does not always get through `poweroff -f`.
vm_bochs_boot() {
	local work=$1 kernel=$2 initrd=$3 serial=$4 tmo=$5 cpus=${6:-1} megs=${7:-512}
	rm -rf "$work"
	mkdir -p "$work/iso/isolinux"
	cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$work/iso/isolinux/"
	cp "$kernel" "$work/iso/vmlinuz"
	cp "$initrd" "$work/iso/initrd"
	cat >"$work/iso/isolinux/isolinux.cfg" <<CFG
default cused
prompt 0
timeout 0
label cused
  kernel /vmlinuz
  append initrd=/initrd console=ttyS0 panic=-1 ${VM_APPEND:-quiet}
CFG
	genisoimage -quiet -o "$work/boot.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
		-no-emul-boot -boot-load-size 4 -boot-info-table -R -J "$work/iso" || return 1
	cat >"$work/bochsrc" <<RC
cpu: model=corei7_skylake_x, count=$cpus
megs: $megs
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
	(cd "$work" && exec timeout "$tmo" bochs -q -f bochsrc -rc bochs.rc </dev/null >bochs.stdout 2>&1) &
	local pid=$! rc
	while kill -0 "$pid" 2>/dev/null; do
		if grep -aqE '^guest: (cused-tramp unloaded|rmmod failed)' "$work/serial.out" 2>/dev/null; then
			sleep 3
			kill "$pid" 2>/dev/null   # timeout passes SIGTERM on to bochs
			wait "$pid"
			tr -d '\r' <"$work/serial.out" >"$serial"
			return 0
		fi
		sleep 2
	done
	wait "$pid"
	rc=$?
	tr -d '\r' <"$work/serial.out" >"$serial" 2>/dev/null
	return $rc
}
