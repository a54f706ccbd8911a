#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 6 items 4, 7, 8, 9b: nothing a client does may wedge cused.
#
#   wedge-test.sh BUILD KVMTEST GUEST_DIR CLIENT CASE
#
# CASE:
#   getregs     72 concurrent KVM_GET_REGS while the vCPU spins in the guest
#               complete at once and do not end that KVM_RUN (4a)
#   sighandler  KVM_GET_REGS from the vCPU thread's SIGUSR1 handler (4b)
#   sigstorm    the same with signals landing anywhere in the shim (its fd
#               table must not be locked against its own signal handler)
#   kill        a client SIGKILLed with a vCPU in KVM_RUN, a thread blocked in
#               a FUSE KVM_RUN and threads in KVM_GET_REGS leaves no D-state
#               thread, is reaped, frees its VM and stops its guest (4c)
#   flood       the same client with 70 threads in FUSE KVM_RUNs waiting for
#               its vCPU: other clients are still served and the client,
#               SIGKILLed, is still reaped (workers are kept for them)
#   sigterm     SIGTERM to the daemon in that wedged state and when idle:
#               exits within 1 s with status 0 (4d, 9b)
#   run2        two threads in KVM_RUN on one vCPU both finish (7)
#   churn       threads creating and closing vCPUs at once never lose one (8)
# Untrusted clients run as an unprivileged uid.  Exit 0 ok, 1 failure, 77 skip.
set -uo pipefail
. "$(dirname "$0")/../../integration/lib.sh"

cused_setup "$1" "$2" "$3"
# reading status is a FUSE request too: bounded, so a wedged daemon fails
# the test instead of hanging it (override lib.sh's reader and waiter)
cused_status_get() {
	timeout -k 1 3 awk -v f="$1" '$1 == f { print $2 }' "$MNT/status" 2>/dev/null
}
wait_status() {
	local end=$(( $(date +%s) + $3 ))
	while [ "$(date +%s)" -le "$end" ]; do
		[ "$(cused_status_get vms)" = "$1" ] && [ "$(cused_status_get vcpus)" = "$2" ] &&
			return 0
		sleep 0.1
	done
	return 1
}
status_text() {
	timeout -k 1 3 cat "$MNT/status" 2>/dev/null | tr '\n' ' '
}
CLIENT=$4
CASE=$5
[ -x "$CLIENT" ] || skip "wedge_client not built ($CLIENT)"
unpriv_setup

# client ARGS...: wedge_client as the unprivileged uid through the shim
client() {
	run_unpriv "$CUSED_RUN" --no-bind --device "$DEV" "$CLIENT" --dev "$DEV" "$@"
}

# wait_gone PID SECONDS: 0 once PID no longer exists (a zombie counts as alive)
wait_gone() {
	local pid=$1 tries=$(( $2 * 20 ))
	for _ in $(seq "$tries"); do
		[ -e "/proc/$pid" ] || return 0
		sleep 0.05
	done
	return 1
}

# run_bounded SECONDS CMD...: CMD in the background; fail if it is still
# running after SECONDS (a request that never returns), else its status
run_bounded() {
	local secs=$1 pid
	shift
	"$@" >"$WORK/client.out" 2>&1 &
	pid=$!
	CHILD_PIDS+=("$pid")
	if ! wait_gone "$pid" "$secs"; then
		cat "$WORK/client.out"
		fail "$CASE: client still running after $secs s (wedged)"
	fi
	wait "$pid"
	local rc=$?
	cat "$WORK/client.out"
	return $rc
}

# threads of PID in state D, as "tid:state" words
dstate_threads() {
	local t s
	for t in /proc/"$1"/task/*; do
		s=$(sed -E 's/^[0-9]+ \(.*\) (.) .*/\1/' "$t/stat" 2>/dev/null) || continue
		[ "$s" = D ] && echo "${t##*/}:D"
	done
}

# the daemon's CPU time in clock ticks (utime + stime of all threads)
cused_ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$CUSED_PID/stat"
}

# start_wedged [RAW]: a wedge client as the unprivileged uid with RAW (1)
# threads in FUSE KVM_RUN; sets WPID (the client)
start_wedged() {
	local out=$WORK/wedge.out
	client wedge 4 "${1:-1}" >"$out" 2>&1 &
	CHILD_PIDS+=("$!")
	WPID=
	for _ in $(seq 150); do
		WPID=$(sed -n 's/^wedge: ready pid \([0-9]*\)$/\1/p' "$out")
		[ -n "$WPID" ] && break
		sleep 0.1
	done
	[ -n "$WPID" ] || { cat "$out"; fail "$CASE: wedge client never got ready"; }
	CHILD_PIDS+=("$WPID")
	wait_status 1 1 5 || fail "$CASE: status with the wedge client: $(status_text)"
}

# sigterm_check WHAT: SIGTERM the daemon, require exit within 1 s with status 0
sigterm_check() {
	local t0 rc
	t0=$(date +%s%N)
	kill -TERM "$CUSED_PID"
	if ! wait_gone "$CUSED_PID" 1; then
		kill -KILL "$CUSED_PID" 2>/dev/null
		wait "$CUSED_PID" 2>/dev/null
		CUSED_PID=
		tail -20 "$WORK/cused.log"
		fail "$1: cused still running 1 s after SIGTERM"
	fi
	wait "$CUSED_PID"
	rc=$?
	CUSED_PID=
	[ $rc -eq 0 ] || { tail -20 "$WORK/cused.log"; fail "$1: cused exited with status $rc after SIGTERM"; }
	echo "ok   $1: exit 0 $(( ($(date +%s%N) - t0) / 1000000 )) ms after SIGTERM"
}

cused_start
echo "cused serving $DEV (pid $CUSED_PID), case $CASE"

case $CASE in
getregs)
	run_bounded 40 client getregs 72 || fail "getregs: client failed"
	;;
getregs-halted)
	# the vCPU sleeps in the daemon's HLT (in-daemon irqchip), not in the guest
	run_bounded 40 client getregs-halted 72 || fail "getregs-halted: client failed"
	;;
sighandler)
	run_bounded 40 client sighandler 20 || fail "sighandler: client failed"
	;;
sigstorm)
	run_bounded 40 client sighandler 3000 50 || fail "sigstorm: client failed"
	;;
kill)
	for round in 1 2; do
		start_wedged
		sleep 0.3
		kill -KILL "$WPID"
		# cused-run waits for its child; the client must go away for real
		if ! wait_gone "$WPID" 5; then
			echo "threads of $WPID: $(dstate_threads "$WPID" | tr '\n' ' ')"
			fail "kill round $round: SIGKILLed client $WPID not reaped after 5 s"
		fi
		wait_status 0 0 5 ||
			fail "kill round $round: 5 s after SIGKILL status is $(status_text)"
		# no guest left spinning: the daemon is idle again
		t0=$(cused_ticks)
		sleep 1
		t1=$(cused_ticks)
		[ $(( t1 - t0 )) -le 20 ] ||
			fail "kill round $round: cused used $(( t1 - t0 )) ticks in 1 s after the client died"
		cused_alive || fail "kill round $round: cused died"
		echo "ok   round $round: SIGKILLed client reaped, VM freed, daemon idle ($(( t1 - t0 )) ticks/s)"
	done
	timeout -k 1 30 "$CUSED_RUN" --device "$DEV" "$KVMTEST" modes >"$WORK/modes" 2>&1 ||
		{ cat "$WORK/modes"; fail "kill: modes fails afterwards"; }
	;;
flood)
	start_wedged 70
	sleep 0.5
	run_bounded 20 "$CUSED_RUN" --device "$DEV" "$KVMTEST" modes >/dev/null ||
		fail "flood: another client's modes failed"
	echo "ok   flood: another client served while 70 FUSE KVM_RUNs wait"
	kill -KILL "$WPID"
	if ! wait_gone "$WPID" 5; then
		echo "threads of $WPID in D: $(dstate_threads "$WPID" | wc -l)"
		fail "flood: SIGKILLed client $WPID not reaped after 5 s"
	fi
	wait_status 0 0 5 || fail "flood: 5 s after SIGKILL status is $(status_text)"
	echo "ok   flood: SIGKILLed client reaped, VM freed"
	;;
sigterm)
	sigterm_check "idle daemon"
	cused_start
	start_wedged
	sleep 0.3
	sigterm_check "daemon with a guest spinning and requests blocked"
	wait_gone "$WPID" 5 || fail "sigterm: client $WPID still there 5 s after the daemon exited"
	;;
run2)
	run_bounded 60 client run2 2000 || fail "run2: client failed"
	;;
churn)
	for r in 1 2 3; do
		run_bounded 60 client churn 16 60 || fail "churn: client failed (run $r)"
	done
	;;
*)
	fail "unknown case $CASE"
	;;
esac

if cused_alive; then
	wait_status 0 0 5 || fail "$CASE: status at the end: $(status_text)"
	sigterm_check "$CASE: daemon at the end"
fi
echo "wedge $CASE: ok"
