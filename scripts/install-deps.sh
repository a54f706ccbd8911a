#!/usr/bin/env bash
# Install the Debian 12 packages cused needs to build, run and test.
# Idempotent and quiet when everything is already there.
set -euo pipefail

PKGS=(meson ninja-build pkg-config gcc make binutils fuse3 libfuse3-dev liburing-dev
      libcmocka-dev libseccomp-dev libcapstone-dev linux-libc-dev util-linux
      clang libclang-rt-14-dev)  # clang: the ASan+UBSan build and libFuzzer (fuzzer runtime)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# /dev/kvm's group: cused gives its device the same owner and mode (0660
# root:kvm), so members of kvm may use it as they would the kernel's device
if ! getent group kvm >/dev/null; then
	echo "install-deps: creating group kvm"
	groupadd --system kvm
fi
