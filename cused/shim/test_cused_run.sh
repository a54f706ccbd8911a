#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cused-run + libcused against test_fakedev (a stand-in daemon):
#   test_cused_run.sh CUSED_RUN FAKEDEV CLIENT
# Checks the launcher's errors, that the bind over /dev/kvm stays inside the
# private namespace, and the client protocol (test_shim_client fake), with
# and without the KVM_RUN doorbell.  77 = skip.
set -uo pipefail
RUN=$1 FAKE=$2 CLIENT=$3
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mount namespace, FUSE mount)"; exit 77; }
[ -c /dev/fuse ] || { echo "SKIP: no /dev/fuse"; exit 77; }
WORK=$(mktemp -d /tmp/cused-shim.XXXXXX)
MNT=$WORK/m
FAKE_PID=
cleanup() {
	[ -n "$FAKE_PID" ] && { umount "$MNT" 2>/dev/null || fusermount3 -u "$MNT"; kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; }
	rm -rf "$WORK"
}
trap cleanup EXIT
failed=0
ok()   { echo "ok   $*"; }
bad()  { echo "FAIL $*"; failed=1; }
host_kvm() { stat -c '%F %t:%T %i' /dev/kvm 2>/dev/null || echo none; }

start_fake() {
	mkdir -p "$MNT"
	"$FAKE" -f "$MNT" &
	FAKE_PID=$!
	for _ in $(seq 50); do [ -e "$MNT/kvm" ] && return 0; sleep 0.1; done
	echo "FAIL fake device did not come up"; exit 1
}
stop_fake() {
	umount "$MNT" 2>/dev/null || fusermount3 -u "$MNT"
	wait "$FAKE_PID" 2>/dev/null
	FAKE_PID=
}

before=$(host_kvm)

# errors are one line and exit 127
out=$("$RUN" --device "$WORK/nonexistent" true 2>&1); rc=$?
[ $rc = 127 ] && [ "$(echo "$out" | wc -l)" = 1 ] && ok "missing device: $out" || bad "missing device: rc $rc: $out"
touch "$WORK/plain"
out=$("$RUN" --device "$WORK/plain" true 2>&1); rc=$?
[ $rc = 127 ] && echo "$out" | grep -q "not a cused device" && ok "plain file: $out" || bad "plain file: rc $rc: $out"
out=$("$RUN" 2>&1); rc=$?
[ $rc = 2 ] && ok "no command: usage" || bad "no command: rc $rc"

unset FAKE_NO_DOORBELL
start_fake
# inside: /dev/kvm is the fake file; outside, while it runs: still the host's
"$RUN" --device "$MNT/kvm" sh -c 'stat -c "%i" /dev/kvm; echo "$LD_PRELOAD $CUSED_DEVICE"; sleep 1' >"$WORK/inside" 2>&1 &
sleep 0.5
during=$(host_kvm)
wait $!
inside=$(head -1 "$WORK/inside")
[ "$inside" = "$(stat -c %i "$MNT/kvm")" ] && ok "inside: /dev/kvm is the cused device ($inside)" || bad "inside: $(cat "$WORK/inside")"
grep -q "libcused.so $MNT/kvm" "$WORK/inside" && ok "LD_PRELOAD and CUSED_DEVICE set" || bad "env: $(cat "$WORK/inside")"
[ "$during" = "$before" ] && [ "$(host_kvm)" = "$before" ] && ok "host /dev/kvm untouched ($before)" || bad "host /dev/kvm changed: $before / $during / $(host_kvm)"
grep -q " /dev/kvm " /proc/self/mountinfo && bad "a mount on /dev/kvm leaked to the host" || ok "no mount on /dev/kvm outside"

"$RUN" --device "$MNT/kvm" "$CLIENT" fake || bad "client with doorbell"
stop_fake
FAKE_NO_DOORBELL=1 start_fake
echo "--- without the doorbell (KVM_RUN through FUSE)"
FAKE_NO_DOORBELL=1 "$RUN" --device "$MNT/kvm" "$CLIENT" fake || bad "client without doorbell"
# --no-bind: the client opens the device by its own path
"$RUN" --no-bind --device "$MNT/kvm" sh -c '[ "$(stat -c %F /dev/kvm)" = "$0" ]' "$(stat -c %F /dev/kvm)" && ok "--no-bind leaves /dev/kvm alone" || bad "--no-bind"
exit $failed
