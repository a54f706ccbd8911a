#!/usr/bin/env bash
# run-libfuzzer.sh FUZZER SEED_CORPUS [LIBFUZZER FLAGS...]
# Fuzz for FUZZ_SECONDS (default 10) starting from the committed seeds.  New
# inputs go to a scratch directory, never into the source tree; a crash is
# kept and its path printed (replay: FUZZER CRASHFILE).  Exit status is
# libFuzzer's: 0 when nothing was found.
set -uo pipefail
fuzzer=$1 seeds=$2
shift 2
secs=${FUZZ_SECONDS:-10}
work=$(mktemp -d /tmp/cused-fuzz.XXXXXX)
mkdir -p "$work/corpus" "$work/artifacts"
echo "fuzzing $fuzzer for ${secs}s from $seeds (scratch corpus $work/corpus)"
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" "$@" "$work/corpus" "$seeds" 2>&1 |
	grep -v -E '^#[0-9]+\s+(NEW|REDUCE|pulse)' 
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
	echo "FAIL: libFuzzer exit $rc; artifacts kept in $work/artifacts:"
	ls -l "$work/artifacts"
	exit 1
fi
rm -rf "$work"
exit 0
