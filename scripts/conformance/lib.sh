# SPDX-License-Identifier: MIT
# Shared by scripts/conformance/*: the cache directory, Debian packages, one
# test run on the host's /dev/kvm or under cused-run with crash/hang
# detection, and the result table.  Source after setting ROOT; the daemon
# itself is tests/integration/lib.sh's (cused_setup/cused_start/cused_stop).
#
# A result is one word: pass fail skip timeout signal daemon-crash
# daemon-hang notbuilt.  Only pass counts as passed; skip and notbuilt count
# as skipped; everything else as failed.

# shellcheck source=../../tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"

CONF_CACHE=${CUSED_CONFORMANCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cused-conformance}

# conf_have_pkg PKG: installed?
conf_have_pkg() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# conf_apt PKG...: install the missing ones from Debian's apt; 1 if that fails
conf_apt() {
	local p missing=()
	for p in "$@"; do
		conf_have_pkg "$p" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || { echo "conformance: not root, cannot install ${missing[*]}"; return 1; }
	echo "conformance: installing ${missing[*]} from Debian's apt"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 && return 0
	apt-get update -qq >/dev/null 2>&1
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1
}

# conf_lock FILE: hold an exclusive lock on FILE for the rest of the script
# (two runs sharing the cache must not build into the same tree at once)
conf_lock() {
	mkdir -p "$(dirname "$1")"
	exec 9>"$1"
	flock 9
}

# ---- running one test

# conf_start_daemon: a fresh private daemon (the integration tests' way)
conf_start_daemon() {
	cused_stop quiet
	cused_start
	DAEMON_STARTS=$(( ${DAEMON_STARTS:-0} + 1 ))
}

# conf_daemon_ok: alive and answering a read of its status file within 5 s
conf_daemon_ok() {
	cused_alive && timeout 5 cat "$MNT/status" >/dev/null 2>&1
}

# conf_run SIDE LOG TIMEOUT CMD...: run CMD on SIDE (host: as is, with the
# host's /dev/kvm; cused: under cused-run on the private daemon, /dev/kvm
# replaced only in cused-run's own mount namespace; via-cused: as is, CMD
# reaches the daemon itself, e.g. through a QEMU wrapper that runs
# cused-run).  Sets RESULT (one word, above) and RC.  The exit status is
# read as kselftest's: 0 pass, 4 skip (KSFT_SKIP), 124/137 timeout, 129-192
# signal, else fail; a daemon that died or stopped answering during the test
# overrides that, its log is saved to LOG.cused.log and a fresh one started.
conf_run() {
	local side=$1 log=$2 tmo=$3
	shift 3
	[ "$side" = host ] || conf_daemon_ok || conf_start_daemon
	# in a subshell whose stderr is dropped: bash's "Killed" notice when
	# timeout(1) has to SIGKILL is not part of the test's output
	if [ "$side" = cused ]; then
		(timeout -k 5 "$tmo" "$CUSED_RUN" --device "$DEV" "$@" >"$log" 2>&1 </dev/null) 2>/dev/null
	else
		(timeout -k 5 "$tmo" "$@" >"$log" 2>&1 </dev/null) 2>/dev/null
	fi
	RC=$?
	case $RC in
	0) RESULT=pass ;;
	4) RESULT=skip ;;
	124|137) RESULT=timeout ;;
	# a shell reports death by signal N as 128+N; 254 is a failed
	# TEST_ASSERT's exit(254)
	*) if [ $RC -gt 128 ] && [ $RC -le 192 ]; then RESULT=signal; else RESULT=fail; fi ;;
	esac
	[ "$side" = host ] && return 0
	if ! cused_alive; then
		RESULT=daemon-crash
		cp "$WORK/cused.log" "$log.cused.log" 2>/dev/null
		wait "$CUSED_PID" 2>/dev/null
		echo "daemon exited with status $? (log: $log.cused.log)" >>"$log"
		CUSED_PID=
		conf_start_daemon
	elif ! conf_daemon_ok; then
		RESULT=daemon-hang
		cp "$WORK/cused.log" "$log.cused.log" 2>/dev/null
		echo "daemon stopped answering its status file (log: $log.cused.log)" >>"$log"
		kill -KILL "$CUSED_PID" 2>/dev/null
		conf_start_daemon
	fi
	return 0
}

# conf_reason RESULT LOG: the one line of LOG that says why, for the table
conf_reason() {
	local result=$1 log=$2 line
	case $result in
	pass) return 0 ;;
	notbuilt) echo "did not build"; return 0 ;;
	daemon-crash|daemon-hang) tail -n 1 "$log"; return 0 ;;
	esac
	# a kselftest assertion (stderr): the banner, "  file:line: expr",
	# "  pid=...", the backtrace (or "(stack trace empty)" where addr2line
	# is missing), then the message's first line; the test's
	# buffered stdout may follow, so take only that line
	line=$(awk '
		/==== Test Assertion Failure ====/ && loc == "" { inb = 1; next }
		inb && loc == "" { sub(/^ +/, ""); loc = $0; next }
		inb && (/^ +[0-9]+\t/ || /^ +pid=/ || /^ +\(stack trace empty\)/) { next }
		inb && NF { sub(/^ +/, ""); msg = $0; inb = 0 }
		END { if (loc != "") print loc (msg != "" ? " | " msg : "") }' "$log")
	if [ -z "$line" ]; then
		line=$(grep -E 'skipping test|# SKIP|SKIP|[Nn]ot supported|FAIL|[Ee]rror' "$log" | tail -n 1)
	fi
	[ -n "$line" ] || line=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)
	case $result in
	timeout) line="timed out; last: $line" ;;
	signal) line="killed by signal $(( RC - 128 )); last: $line" ;;
	esac
	echo "$line" | cut -c1-160
}

# ---- the table

ROWS=()
CONF_COLS=(host cused)  # result columns; the count line is the second's

# conf_row NAME RESULT... REASON: one result per CONF_COLS entry
conf_row() {
	local IFS=$'\t'
	ROWS+=("$*")
}

# conf_count COLUMN-INDEX: "N passed, N failed, N skipped" of that column
conf_count() {
	local r f pass=0 failn=0 skipn=0
	for r in "${ROWS[@]}"; do
		IFS=$'\t' read -r -a f <<<"$r"
		case ${f[$1]} in
		pass) pass=$((pass + 1)) ;;
		skip|notbuilt) skipn=$((skipn + 1)) ;;
		*) failn=$((failn + 1)) ;;
		esac
	done
	echo "$pass passed, $failn failed, $skipn skipped"
	[ $failn -eq 0 ]
}

# conf_table: the markdown table, then the count line of the cused column
# (the last line; the kmod column's before it); 0 when no cused result
# counts as failed
conf_table() {
	local r f i n=${#CONF_COLS[@]}
	printf '| test |'; printf ' %s |' "${CONF_COLS[@]}"; printf ' first failure line |\n'
	printf '|---|'; printf -- '---|%.0s' "${CONF_COLS[@]}"; printf -- '---|\n'
	for r in "${ROWS[@]}"; do
		IFS=$'\t' read -r -a f <<<"$r"
		printf '| %s |' "${f[0]}"
		for ((i = 1; i <= n; i++)); do printf ' %s |' "${f[$i]}"; done
		r=${f[$((n + 1))]:-}
		printf ' %s |\n' "${r//|/\\|}"
	done
	for ((i = 1; i <= n; i++)); do
		[ "${CONF_COLS[$((i - 1))]}" = kmod ] || continue
		echo "(${CONF_COLS[$((i - 1))]}: $(conf_count $i))"
	done
	for ((i = 1; i <= n; i++)); do
		[ "${CONF_COLS[$((i - 1))]}" = cused ] && { conf_count $i; return; }
	done
}
