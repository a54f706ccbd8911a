#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `meson install` puts the daemon, libcused, cused-run and the daemon's
# systemd unit in place, and the unit passes `systemd-analyze verify`
# (when systemd-analyze exists; its ExecStart is pointed at the staged
# binary so the check does not depend on a real install).
set -uo pipefail
. "$(dirname "$0")/../../integration/lib.sh"
BUILD=$(cd "${1:-build}" && pwd) || skip "no build directory"
command -v meson >/dev/null || skip "meson missing"
STAGE=$(mktemp -d /tmp/cused-install.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT

meson install -C "$BUILD" --destdir "$STAGE" --no-rebuild --quiet >"$STAGE.log" 2>&1 ||
	{ cat "$STAGE.log"; rm -f "$STAGE.log"; fail "meson install failed"; }
rm -f "$STAGE.log"
for f in bin/cused bin/cused-run lib/systemd/system/cused.service; do
	[ -n "$(find "$STAGE" -path "*/$f" -print -quit)" ] || fail "meson install did not install $f"
done
[ -n "$(find "$STAGE" -name libcused.so -print -quit)" ] || fail "libcused.so not installed"
unit=$(find "$STAGE" -path '*/lib/systemd/system/cused.service' -print -quit)
exe=$(find "$STAGE" -path '*/bin/cused' -print -quit)
grep -q '^ExecStart=/.*/bin/cused$' "$unit" || fail "unit has no ExecStart of the daemon"
echo "ok   installed: daemon, cused-run, libcused.so, $(basename "$unit")"
if command -v systemd-analyze >/dev/null; then
	sed "s|^ExecStart=.*|ExecStart=$exe|" "$unit" >"$STAGE/cused.service"
	systemd-analyze verify "$STAGE/cused.service" || fail "systemd-analyze verify failed"
	echo "ok   systemd-analyze verify"
else
	echo "(systemd-analyze missing: unit not verified)"
fi
echo "limits-install: ok"
