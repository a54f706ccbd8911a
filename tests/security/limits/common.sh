# SPDX-License-Identifier: MIT
# Sourced by the limits tests:  X.sh BUILD KVMTEST GUEST_DIR ATTACK SPARSE
set -uo pipefail
. "$(dirname "$0")/../../integration/lib.sh"

cused_setup "${1:-build}" "${2:-}" "${3:-}"
ATTACK=${4:-$BUILD/tests/security/limits/attack}
SPARSE=${5:-$BUILD/tests/security/limits/sparse}
[ -x "$ATTACK" ] || skip "attack client not built ($ATTACK)"
[ -x "$SPARSE" ] || skip "sparse client not built ($SPARSE)"

# a second unprivileged uid, for "another uid is unaffected" / token theft
OTHER_UID=${OTHER_UID:-65533}

# run_other CMD...: CMD as $OTHER_UID, in group kvm
run_other() {
	setpriv --reuid "$OTHER_UID" --regid "$UNPRIV_GID" --groups "$KVM_GID" \
		--inh-caps=-all --bounding-set=-all -- "$@"
}

# wait_holding FILE: wait for an attack client's "holding pid N" line in
# FILE; sets HOLDER=N and records it for cleanup (the background job's own pid
# is a subshell's when run through a function)
wait_holding() {
	local pid=
	for _ in $(seq 100); do
		pid=$(sed -n 's/^holding pid \([0-9]*\)$/\1/p' "$1")
		[ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ] || { cat "$1"; fail "client never reached its holding point"; }
	CHILD_PIDS+=("$pid")
	HOLDER=$pid
}
