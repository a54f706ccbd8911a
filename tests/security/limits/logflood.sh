#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 6 defect 9a: 100k refused ioctls from one unprivileged client must
# produce a bounded number of log lines (rate-limited per client), and the
# suppressed count must be reported.
. "$(dirname "$0")/common.sh"
N=${N:-100000}
MAX_LINES=${MAX_LINES:-100}

unpriv_setup
cused_start
before=$(wc -l <"$WORK/cused.log")
out=$(run_unpriv "$ATTACK" badioctl "$DEV" "$N")
echo "$out"
[ "$out" = "badioctl refused $N of $N" ] || fail "want every ioctl refused: $out"
lines=$(( $(wc -l <"$WORK/cused.log") - before ))
echo "$N refused ioctls logged $lines lines"
[ "$lines" -le "$MAX_LINES" ] || { tail -5 "$WORK/cused.log"; fail "$lines log lines for $N refused ioctls (> $MAX_LINES)"; }
[ "$lines" -ge 1 ] || fail "the refusals were not logged at all"
cused_alive || fail "cused died"
echo "limits-logflood: ok"
