#!/usr/bin/env bash
# README command 2: install dependencies, build, and run every test suite.
# Tests that need what this machine lacks (CUSE, VMX, /dev/kvm) skip with a
# printed reason; the last line counts passed / failed / skipped.
#
# After the normal build, the unit, integration and fuzz suites run again in
# a second build directory (${ASAN_BUILD:-build-asan}) with ASan+UBSan, built
# with clang when it is there (which also builds the libFuzzer harness);
# their results count under names prefixed "asan:".  SANITIZE=0 skips that.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1
BUILD=${BUILD:-build} scripts/build.sh || exit 1
BUILD=${BUILD:-build}
ASAN_BUILD=${ASAN_BUILD:-build-asan}
logs=("$BUILD/meson-logs/testlog.json")

meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@"
rc=$?

if [ "${SANITIZE:-1}" != 0 ]; then
	rm -f "$ASAN_BUILD/meson-logs/testlog.json"
	if [ ! -f "$ASAN_BUILD/build.ninja" ]; then
		asan_cc=$(command -v clang || command -v gcc)
		# b_lundef=false: clang links the ASan runtime into executables only
		CC=$asan_cc meson setup "$ASAN_BUILD" -Db_sanitize=address,undefined \
			-Db_lundef=false >/dev/null || rc=1
	fi
	if ninja -C "$ASAN_BUILD" >/dev/null; then
		# UBSan findings fail the test (and stop a daemon) instead of scrolling by
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
			meson test -C "$ASAN_BUILD" --print-errorlogs --num-processes 2 \
			--suite unit --suite integration --suite fuzz || rc=1
		logs+=("$ASAN_BUILD/meson-logs/testlog.json")
	else
		echo "FAIL: the sanitizer build ($ASAN_BUILD) does not build"
		export CUSED_EXTRA_FAILED=1   # counted in the closing line too
		rc=1
	fi
fi

python3 - "${logs[@]}" <<'PY'
import json, os, sys
res = []
for i, path in enumerate(sys.argv[1:]):
    if not os.path.exists(path):
        continue
    for l in open(path):
        if l.strip():
            r = json.loads(l)
            if i:
                r["name"] = "asan:" + r["name"]
            res.append(r)
count = lambda *k: sum(1 for r in res if r.get("result") in k)
for r in res:
    if r.get("result") == "SKIP":
        out = (r.get("stdout") or "").strip().splitlines()
        print(f"skipped {r['name']}: {out[-1] if out else 'no reason printed'}")
failed = count('FAIL', 'TIMEOUT', 'ERROR', 'UNEXPECTEDPASS') + int(os.environ.get("CUSED_EXTRA_FAILED", "0"))
print(f"tests: {count('OK', 'EXPECTEDFAIL')} passed, {failed} failed, {count('SKIP')} skipped")
PY
exit $rc
