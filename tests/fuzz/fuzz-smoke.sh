#!/usr/bin/env bash
# fuzz-smoke.sh BUILD FUZZ_SMOKE KVMTEST GUEST_DIR
# Process-level fuzz smoke: a private cused, batches of fuzz_smoke (random
# ioctls, shim protocol calls, closes, forks) as the unprivileged uid, and
# after every batch:
#   - the daemon is alive,
#   - once the client has exited its fds, threads (other than idle FUSE
#     workers) and VM/vCPU counts come back to the baseline (within SETTLE s),
#   - a known-good client (kvmtest modes through cused-run, as root and as the
#     unprivileged uid) still runs and prints the baseline trace.
# FUZZ_SECONDS (default 8) bounds the run; FUZZ_SEED (default: random,
# printed) makes it repeatable, batch i using seed FUZZ_SEED+i; FUZZ_OPS
# (default 400) calls per batch.  Longer on demand: FUZZ_SECONDS=600.
set -uo pipefail
. "$(dirname "$0")/../integration/lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (serves a device, switches to uid 65534)"; exit 77; }
cused_setup "$1" "$3" "$4"
SMOKE=$2
[ -x "$SMOKE" ] || skip "fuzz_smoke not built ($SMOKE)"
unpriv_setup
SECONDS_BUDGET=${FUZZ_SECONDS:-8}
SEED=${FUZZ_SEED:-$(( (RANDOM << 15) | RANDOM ))}
OPS=${FUZZ_OPS:-400}
SETTLE=${SETTLE:-5}

cused_start
run_unpriv test -r "$DEV" -a -w "$DEV" ||
	skip "uid $UNPRIV_UID in group kvm cannot open $DEV read-write"

fd_count() { ls "/proc/$CUSED_PID/fd" 2>/dev/null | wc -l; }
thread_count() { ls "/proc/$CUSED_PID/task" 2>/dev/null | wc -l; }
# threads doing something other than waiting for the next FUSE request: libfuse
# keeps the idle workers it started for concurrent requests (a dying client's
# fds are released in parallel), so only these must return to the baseline
busy_threads() {
	local t n=0
	for t in /proc/"$CUSED_PID"/task/*; do
		[ "$(cat "$t/wchan" 2>/dev/null)" = fuse_dev_do_read ] || n=$((n + 1))
	done
	echo $n
}

# the known-good traces, and the daemon at rest after serving them (its FUSE
# worker pool has grown to what one client needs)
good_root=$(run_cused modes 2>&1) || fail "kvmtest modes fails on a fresh cused: $good_root"
good_unpriv=$(run_cused_unpriv modes 2>&1) ||
	fail "kvmtest modes as uid $UNPRIV_UID fails on a fresh cused: $good_unpriv"
wait_status 0 0 "$SETTLE" || fail "VMs left after the known-good clients"
base_fds=$(fd_count)
base_busy=$(busy_threads)
echo "fuzz-smoke: seed $SEED, ${SECONDS_BUDGET}s, $OPS ops per batch;" \
     "baseline $base_fds fds, $base_busy busy threads ($(thread_count) in all), 0 VMs"

settled() {
	[ "$(fd_count)" -le "$base_fds" ] &&
	[ "$(busy_threads)" -le "$base_busy" ] &&
	[ "$(cused_status_get vms)" = 0 ] && [ "$(cused_status_get vcpus)" = 0 ]
}

report() {
	echo "--- after batch $batch (seed $s): $(fd_count) fds (baseline $base_fds)," \
	     "$(busy_threads) busy threads (baseline $base_busy), $(thread_count) in all," \
	     "$(cused_status_get vms) VMs, $(cused_status_get vcpus) vCPUs"
	ls -l "/proc/$CUSED_PID/fd" 2>/dev/null | tail -n +2 | sed 's/^/  /' | tail -20
	echo "--- cused.log (tail)"; tail -20 "$WORK/cused.log"
	echo "repeat: FUZZ_SEED=$s FUZZ_OPS=$OPS FUZZ_SECONDS=1 $0 $*"
}

end=$(( $(date +%s) + SECONDS_BUDGET ))
batch=0
while [ "$(date +%s)" -lt "$end" ] || [ $batch -eq 0 ]; do
	s=$(( SEED + batch ))
	out=$(timeout 60 setpriv --reuid "$UNPRIV_UID" --regid "$UNPRIV_GID" --groups "$KVM_GID" \
		--inh-caps=-all --bounding-set=-all -- "$SMOKE" "$DEV" "$s" "$OPS" 2>&1)
	rc=$?
	[ $rc -eq 124 ] && { report; fail "fuzz_smoke seed $s did not finish in 60 s (daemon wedged?)"; }
	[ $rc -ne 0 ] && { echo "$out"; report; fail "fuzz_smoke seed $s exited $rc"; }
	cused_alive || { report; fail "cused died during batch $batch (seed $s)"; }
	ok=
	for _ in $(seq $(( SETTLE * 10 ))); do
		settled && { ok=1; break; }
		sleep 0.1
	done
	[ -n "$ok" ] || { report; fail "daemon did not return to baseline after batch $batch (seed $s)"; }
	# the known-good client every few batches (it costs a guest boot)
	if [ $(( batch % 4 )) -eq 0 ]; then
		t=$(run_cused modes 2>&1)
		[ "$t" = "$good_root" ] || { report; diff <(echo "$good_root") <(echo "$t") | head;
			fail "kvmtest modes differs after batch $batch (seed $s)"; }
		t=$(run_cused_unpriv modes 2>&1)
		[ "$t" = "$good_unpriv" ] || { report; diff <(echo "$good_unpriv") <(echo "$t") | head;
			fail "kvmtest modes as uid $UNPRIV_UID differs after batch $batch (seed $s)"; }
	fi
	batch=$(( batch + 1 ))
done
cused_alive || fail "cused died"
echo "fuzz-smoke: $batch batches (seeds $SEED..$(( SEED + batch - 1 ))), daemon alive," \
     "back to baseline after each, known-good client unchanged"
