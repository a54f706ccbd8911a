# shellcheck shell=bash
# Shared by scripts/vm/*.sh: package installs, the cached Debian kernel,
# building cused-tramp.ko and tramp_smoke.  Source it; do not run it.
#
# Everything lands in $VM_CACHE, default $XDG_CACHE_HOME/cused-vm (outside
# build/, which meson users wipe; the unpacked kernel survives across runs).
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VM_CACHE=${VM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/cused-vm}
mkdir -p "$VM_CACHE"

vm_log() { echo "vm: $*" >&2; }
vm_skip() { echo "SKIP: $*"; exit 77; }

# vm_need_pkgs PKG...: install what is missing, or skip (exit 77)
vm_need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	vm_log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
		>"$VM_CACHE/apt.log" 2>&1 || vm_skip "apt-get install ${missing[*]} failed (see $VM_CACHE/apt.log)"
}

# vm_kernel: sets KVER, VMLINUZ, KMODDIR (the image's /lib/modules/$KVER) and
# KHDR (headers).  The image package is downloaded and unpacked, never installed.
vm_kernel() {
	vm_need_pkgs linux-headers-amd64
	KHDR=$(ls -d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null | sort -V | tail -1)
	[ -n "$KHDR" ] || vm_skip "no linux-headers-6.1.*-amd64 under /usr/src"
	KVER=${KHDR#/usr/src/linux-headers-}
	local img="$VM_CACHE/linux-image-$KVER"
	if [ ! -f "$img/boot/vmlinuz-$KVER" ]; then
		vm_log "fetching linux-image-$KVER"
		rm -rf "$img" "$VM_CACHE"/linux-image-"$KVER"_*.deb
		(cd "$VM_CACHE" && apt-get download "linux-image-$KVER" >"$VM_CACHE/apt.log" 2>&1) ||
			vm_skip "apt-get download linux-image-$KVER failed"
		dpkg -x "$VM_CACHE"/linux-image-"$KVER"_*.deb "$img"
		rm -f "$VM_CACHE"/linux-image-"$KVER"_*.deb
	fi
	VMLINUZ=$img/boot/vmlinuz-$KVER
	KMODDIR=$img/lib/modules/$KVER
}

# vm_build_module TAG: builds a copy of kmod-trampoline/ out of the source tree
# (in kmod-src-TAG, so the QEMU and Bochs runs may overlap);
# sets KMOD_KO.
vm_build_module() {
	local src="$VM_CACHE/kmod-src-${1:-svm}"
	rm -rf "$src"
	mkdir -p "$src/include/cused"
	cp "$REPO"/kmod-trampoline/{Kbuild,Makefile,dkms.conf,*.c,*.h,*.S} "$src/"
	cp "$REPO/include/cused/tramp_abi.h" "$src/include/cused/"
	vm_need_pkgs make gcc
	make -s -C "$KHDR" M="$src" modules >"$src.log" 2>&1 || {
		cat "$src.log"
		vm_log "module build failed"
		return 1
	}
	grep -iE "warning|error" "$src.log" | grep -v "Skipping BTF" >&2 || true
	KMOD_KO=$src/cused-tramp.ko
}

# vm_build_smoke TAG: static tramp_smoke; sets SMOKE_BIN
vm_build_smoke() {
	SMOKE_BIN=$VM_CACHE/tramp_smoke-${1:-svm}
	gcc -static -O2 -Wall -I"$REPO/include" -o "$SMOKE_BIN" \
		"$REPO/tests/kmod/tramp_smoke.c" -lpthread || return 1
}
