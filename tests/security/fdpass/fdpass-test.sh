#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 6, defects 1-3: a hostile unprivileged client passing fds to the root
# daemon.  usage: fdpass-test.sh CASE BUILD KVMTEST GUEST_DIR ATTACK
#   race   run_fd and a read-write slot swapping between a memfd and an O_PATH
#          fd of a root-only file: the file must stay unchanged (defect 1)
#   opath  a read-only slot over an O_PATH fd of a root-only file is refused
#          and guest code cannot read the file (defect 2)
#   fifo   a FIFO-backed slot fails at once, and 80 concurrent ones neither
#          stop another client nor SIGTERM (defect 3)
#   shrink a kvm_run memfd that could shrink under the daemon (SIGBUS) is
#          refused; a sealed one is bound and cannot shrink; guest RAM shrunk
#          under a daemon page walk reads as unbacked
set -u
CASE=$1
ATTACK=$5
. "$(dirname "$0")/../../integration/lib.sh"
cused_setup "$2" "$3" "$4"
[ "$(id -u)" = 0 ] || skip "needs root: the daemon runs as root, the attacker as uid $UNPRIV_UID"
[ -x "$ATTACK" ] || skip "fdpass_attack not built ($ATTACK)"
unpriv_setup
cused_start

# a root-only file with known content, in a directory the attacker can search
ROOTFILE=$WORK/root/secret
SECRET=ROOT-ONLY-SECRET
mkdir -m 0755 "$WORK/root"
yes "$SECRET" | head -c 65536 >"$ROOTFILE"
chown root:root "$ROOTFILE"
chmod 0600 "$ROOTFILE"
SUM=$(sha256sum <"$ROOTFILE")

# attack NAME ARGS...: the attacker as the unprivileged uid, in the background,
# output in $WORK/NAME.out; sets APID
attack() {
	local name=$1
	shift
	run_unpriv "$ATTACK" "$DEV" "$@" >"$WORK/$name.out" 2>&1 &
	APID=$!
	CHILD_PIDS+=("$APID")
}

# finished PID SECONDS: did PID exit within SECONDS?  A client stuck in a
# FUSE request the daemon never answers cannot even be killed, so never
# wait(1) for one blindly.
finished() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		if ! kill -0 "$1" 2>/dev/null; then
			wait "$1" 2>/dev/null
			return 0
		fi
		sleep 0.1
	done
	return 1
}

show() {
	echo "--- $1"
	cat "$WORK/$1.out"
}

root_file_intact() {
	[ "$(sha256sum <"$ROOTFILE")" = "$SUM" ] ||
		fail "$1: the root-only file was modified through the daemon"
}

case $CASE in
race)
	attack run race-run "$ROOTFILE" 8
	finished "$APID" 60 || { show run; fail "race-run client did not finish"; }
	show run
	grep -q "bound [1-9]" "$WORK/run.out" ||
		fail "no vCPU was bound with the memfd: the race was not exercised"
	root_file_intact "run_fd swap"

	attack slot race-slot "$ROOTFILE" 8
	finished "$APID" 60 || { show slot; fail "race-slot client did not finish"; }
	show slot
	grep -q "guest-runs [1-9]" "$WORK/slot.out" ||
		fail "no guest ran on a slot over the memfd: the race was not exercised"
	grep -q "^leak:" "$WORK/slot.out" && fail "guest code read the root-only file"
	root_file_intact "read-write slot swap"
	;;
opath)
	attack opath opath-ro "$ROOTFILE"
	finished "$APID" 30 || { show opath; fail "opath-ro client did not finish"; }
	show opath
	grep -q "memfd slot: run 0 .* guest-runs 1" "$WORK/opath.out" ||
		fail "the guest could not read a read-only memfd slot: nothing was tested"
	grep -q "^leak:\|$SECRET" "$WORK/opath.out" && fail "guest code read the root-only file"
	grep -q "refused errno 9 " "$WORK/opath.out" ||
		fail "a read-only slot over an O_PATH fd was not refused with EBADF"
	grep -q "O_PATH" "$WORK/cused.log" || fail "the daemon did not log the refusal"
	;;
fifo)
	FIFO=$WORK/fifo
	mkfifo -m 0644 "$FIFO"
	attack one fifo-one "$FIFO"
	finished "$APID" 10 || fail "a FIFO-backed slot did not return within 10 s"
	show one
	grep -q "result -22 " "$WORK/one.out" || fail "a FIFO-backed slot was not refused with EINVAL"

	attack flood fifo-flood "$FIFO" 80 30
	FLOOD=$APID
	for _ in $(seq 100); do
		grep -q "threads started" "$WORK/flood.out" && break
		sleep 0.1
	done
	sleep 1
	run_cused_unpriv modes >"$WORK/modes.out" 2>&1 &
	MODES=$!
	CHILD_PIDS+=("$MODES")
	finished "$MODES" 60 || fail "kvmtest modes did not finish while 80 FIFO slots were pending"
	show modes
	grep -q "result: ok" "$WORK/modes.out" || fail "kvmtest modes failed during the FIFO flood"
	kill -0 "$FLOOD" 2>/dev/null || { show flood; fail "the flood ended before modes did"; }
	sleep 1
	tail -n 1 "$WORK/flood.out" | grep -q "einval [1-9]" ||
		{ show flood; fail "the flood's FIFO slots were not refused with EINVAL"; }

	kill -TERM "$CUSED_PID"
	finished "$CUSED_PID" 10 || fail "the daemon did not exit on SIGTERM during the FIFO flood"
	CUSED_PID=
	show flood
	;;
shrink)
	attack unsealed shrink-run unsealed
	finished "$APID" 30 || fail "shrink-run client did not finish"
	show unsealed
	sleep 0.5
	cused_alive || { CUSED_PID=; fail "the daemon died (SIGBUS on a shrunk kvm_run)"; }
	grep -q "bind -22 " "$WORK/unsealed.out" ||
		fail "a kvm_run memfd without F_SEAL_SHRINK was not refused with EINVAL"
	attack sealed shrink-run sealed
	finished "$APID" 30 || fail "shrink-run client did not finish"
	show sealed
	grep -q "bind 0 " "$WORK/sealed.out" || fail "a sealed kvm_run memfd was refused"
	grep -q "daemon alive" "$WORK/sealed.out" && cused_alive ||
		{ CUSED_PID=; fail "the daemon died"; }

	attack slot shrink-slot x
	finished "$APID" 30 || fail "shrink-slot client did not finish"
	show slot
	grep -q "before: translate 0 valid 1 gpa 0x3123" "$WORK/slot.out" ||
		fail "KVM_TRANSLATE did not walk the guest page tables: nothing was tested"
	grep -q "daemon alive" "$WORK/slot.out" && cused_alive ||
		{ CUSED_PID=; fail "the daemon died (SIGBUS on shrunk guest RAM)"; }
	grep -q "after shrink: translate 0 (answered) valid 0" "$WORK/slot.out" ||
		fail "a walk over shrunk guest RAM did not come back invalid"
	;;
*)
	fail "unknown case $CASE"
	;;
esac
echo "PASS: fdpass-$CASE"
