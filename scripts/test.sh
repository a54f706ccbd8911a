#!/usr/bin/env bash
# README command 2: install dependencies, build, and run every test suite.
# Tests that need what this machine lacks (CUSE, VMX, /dev/kvm) skip with a
# printed reason; the last line counts passed / failed / skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1
BUILD=${BUILD:-build} scripts/build.sh || exit 1
BUILD=${BUILD:-build}

meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@"
rc=$?
log="$BUILD/meson-logs/testlog.json"
if [ -f "$log" ]; then
	python3 - "$log" <<'PY'
import json, sys
res = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
count = lambda *k: sum(1 for r in res if r.get("result") in k)
for r in res:
    if r.get("result") == "SKIP":
        out = (r.get("stdout") or "").strip().splitlines()
        print(f"skipped {r['name']}: {out[-1] if out else 'no reason printed'}")
print(f"tests: {count('OK', 'EXPECTEDFAIL')} passed, "
      f"{count('FAIL', 'TIMEOUT', 'ERROR', 'UNEXPECTEDPASS')} failed, {count('SKIP')} skipped")
PY
fi
exit $rc
