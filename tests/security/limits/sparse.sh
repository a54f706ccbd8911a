#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 6 defect 6 (memory): dirty-logged sparse slots of 1 TiB each must
# not cost the daemon their full bitmaps (32 MiB per TiB, twice over in the
# unfixed daemon), and GET_DIRTY_LOG must still report the touched pages.
. "$(dirname "$0")/common.sh"
SLOTS=${SLOTS:-2}
GIB=${GIB:-1024}
MAX_GROWTH_KB=${MAX_GROWTH_KB:-32768}

cused_start
out=$("$CUSED_RUN" --device "$DEV" "$SPARSE" "$DEV" "$CUSED_PID" "$SLOTS" "$GIB" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || { tail -20 "$WORK/cused.log"; fail "sparse client failed ($rc)"; }
read -r before after < <(sed -n 's/^rss before \([0-9]*\) after \([0-9]*\)$/\1 \2/p' <<<"$out")
[ -n "$before" ] || fail "no RSS line"
growth=$((after - before))
echo "daemon VmRSS grew by $growth kB for $SLOTS logged slots of $GIB GiB"
[ "$growth" -le "$MAX_GROWTH_KB" ] || fail "daemon RSS grew by $growth kB (> $MAX_GROWTH_KB)"
wait_status 0 0 10 || fail "status after the client: $(tr '\n' ' ' <"$MNT/status")"
cused_stop

# the per-uid budget of dirty-logged memory: the second 1 TiB slot is over
# 1.5 TiB and refused with ENOMEM; the budget comes back when the VM dies
cused_start --max-dirty-log-gib-per-uid 1536
out=$("$CUSED_RUN" --device "$DEV" "$SPARSE" "$DEV" "$CUSED_PID" 2 1024 2>&1)
echo "$out"
grep -q "slot 1: KVM_SET_USER_MEMORY_REGION: Cannot allocate memory" <<<"$out" ||
	fail "a logged slot over the uid's budget was not refused with ENOMEM"
wait_status 0 0 10 || fail "status: $(tr '\n' ' ' <"$MNT/status")"
out=$("$CUSED_RUN" --device "$DEV" "$SPARSE" "$DEV" "$CUSED_PID" 1 1024 2>&1)
grep -q "^sparse ok$" <<<"$out" || { echo "$out"; fail "budget not released when the VM died"; }
echo "ok   dirty-log budget: over it ENOMEM, released with the VM"
echo "limits-sparse: ok"
