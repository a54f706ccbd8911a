#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# KVM_GET_STATS_FD on cused.
#
#   tests/integration/stats-test.sh BUILD KVMTEST GUEST_DIR STATS_CLIENT
#
# 1. `stats_client live` under cused-run: the VM and vCPU stats files are
#    KVM's, live, per VM; then the client closes its VM and vCPU fds and
#    holds the stats fds: the daemon must show vms 0 / vcpus 0 while they
#    are open (they pin no VM), the fds must still read, and after they
#    close the uid's stats charge is gone (a second run gets fds again).
# 2. Another uid cannot bind a stats token root parked (EACCES); the token
#    stays usable by its owner.
# 3. cused-stat reads the status file and, with --pid, the client's stats
#    files (its stats fds as they are, its VM / vCPU fds through new ones).
# Exit 0 ok, 1 failure, 77 skip.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

cused_setup "${1:-build}" "${2:-}" "${3:-}"
CLIENT=${4:-$BUILD/tests/integration/stats_client}
[ -x "$CLIENT" ] || skip "stats_client not built ($CLIENT)"
[ "$(id -u)" = 0 ] || skip "needs root (cused-run's mount namespace, a second uid)"
cused_start

# wait_statsfds N SECONDS: the status file's stats fd count reaches N
wait_statsfds() {
	for _ in $(seq $(( $2 * 10 ))); do
		[ "$(cused_status_get statsfds)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# 1. live
STAT=$(dirname "$0")/../../scripts/cused-stat
"$CUSED_RUN" --device "$DEV" "$CLIENT" live "$WORK/go" >"$WORK/live.out" 2>&1 &
CLIENT_PID=$!
CHILD_PIDS+=("$CLIENT_PID")
for _ in $(seq 100); do
	grep -q '^alive pid' "$WORK/live.out" && break
	kill -0 "$CLIENT_PID" 2>/dev/null || break
	sleep 0.1
done
pid=$(sed -n 's/^alive pid \([0-9]*\)$/\1/p' "$WORK/live.out")
[ -n "$pid" ] || { cat "$WORK/live.out"; fail "live client never got its VM running"; }
# 3. cused-stat --pid: the client's stats files, by KVM id and KVM name
if command -v python3 >/dev/null; then
	python3 "$STAT" --status "$MNT/status" --pid "$pid" --once >"$WORK/statpid.out" 2>&1 ||
		{ cat "$WORK/statpid.out"; fail "cused-stat --pid"; }
	cat "$WORK/statpid.out"
	grep -qE "^kvm-$pid/vcpu-0 +exits +[1-9]" "$WORK/statpid.out" &&
		grep -qE "^ +io_exits +1 " "$WORK/statpid.out" &&
		grep -qE "^kvm-$pid " "$WORK/statpid.out" &&
		[ "$(grep -c "^kvm-" "$WORK/statpid.out")" = 2 ] ||
		fail "cused-stat --pid does not show the VM's and vCPU's stats once each"
	wait_statsfds 2 5 || fail "cused-stat's own stats fds were not released: $(tr '\n' ' ' <"$MNT/status")"
	echo "ok   cused-stat --pid reads the client's stats files and releases its own"
fi
touch "$WORK/go.alive"
for _ in $(seq 100); do
	grep -q '^holding$' "$WORK/live.out" && break
	kill -0 "$CLIENT_PID" 2>/dev/null || break
	sleep 0.1
done
grep -q '^holding$' "$WORK/live.out" || { cat "$WORK/live.out"; fail "live client did not reach its hold"; }
# RELEASE of the closed fds is asynchronous: give it a moment
wait_status 0 0 5 || { cat "$WORK/live.out"; fail "VM and vCPU fds closed, stats fds open: status $(tr '\n' ' ' <"$MNT/status")"; }
echo "ok   VM and vCPU fds closed while their stats fds are open: vms 0 vcpus 0"
[ "$(cused_status_get statsfds)" = 2 ] || fail "status does not count the 2 open stats fds: $(tr '\n' ' ' <"$MNT/status")"
echo "ok   status counts the 2 stats fds still open"
touch "$WORK/go"
wait "$CLIENT_PID"
rc=$?
cat "$WORK/live.out"
[ $rc -eq 0 ] && grep -q '^done$' "$WORK/live.out" || fail "live client failed (status $rc)"
wait_statsfds 0 5 || fail "stats fds closed but status shows: $(tr '\n' ' ' <"$MNT/status")"
echo "ok   closing the stats fds releases them: statsfds 0"
cused_alive || fail "cused died"

# 2. another uid and a parked token
unpriv_setup
rm -f "$WORK/go"
"$CLIENT" park "$DEV" "$WORK/token" "$WORK/go" >"$WORK/park.out" 2>&1 &
PARK_PID=$!
CHILD_PIDS+=("$PARK_PID")
for _ in $(seq 100); do
	[ -s "$WORK/token" ] && break
	sleep 0.1
done
[ -s "$WORK/token" ] || { cat "$WORK/park.out"; fail "no token parked"; }
run_unpriv "$CLIENT" steal "$DEV" "$(cat "$WORK/token")" || fail "another uid's bind of a stats token"
touch "$WORK/go"
wait "$PARK_PID"
rc=$?
cat "$WORK/park.out"
[ $rc -eq 0 ] || fail "park client failed (status $rc)"
wait_status 0 0 5 && wait_statsfds 0 5 ||
	fail "status after the park client: $(tr '\n' ' ' <"$MNT/status")"
echo "ok   the park client's VM and stats objects are all released"
cused_alive || fail "cused died"
grep -E 'ERROR|Sanitizer' "$WORK/cused.log" && fail "daemon log shows errors"

# 3. (and the status file)
if command -v python3 >/dev/null; then
	python3 "$STAT" --status "$MNT/status" --once >"$WORK/stat.out" 2>&1 ||
		{ cat "$WORK/stat.out"; fail "cused-stat --status"; }
	echo "ok   cused-stat reads the status file"
fi
echo "PASS"
