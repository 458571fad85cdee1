#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# The test command: set up the machine (idempotent), build with warnings as errors,
# run the whole test suite, and end with one line "N passed, N failed".
# Usage: usertools/shmlink-test.sh [meson test args, e.g. --suite unit]
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHMLINK_TEST_BUILD:-$top/build-test}
cd "$top"

"$top/usertools/shmlink-setup.sh"

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" --buildtype=debugoptimized -Dwerror=true \
		-Dinterop=enabled >"$build.setup.log" 2>&1 || {
		cat "$build.setup.log" >&2
		echo "0 passed, 1 failed"
		exit 1
	}
	rm -f "$build.setup.log"
fi
if ! ninja -C "$build"; then
	echo "build failed" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

rc=0
meson test -C "$build" --print-errorlogs "$@" || rc=$?

# Count from meson's own log, one entry per test program.
/usr/bin/python3 - "$build/meson-logs/testlog.json" "$rc" <<'PY'
import json, sys
passed = failed = skipped = 0
try:
	with open(sys.argv[1]) as f:
		for line in f:
			r = json.loads(line)["result"]
			if r in ("OK", "EXPECTEDFAIL"):
				passed += 1
			elif r == "SKIP":
				skipped += 1
			else:
				failed += 1
except OSError:
	failed = 1
if passed + failed == 0 or (int(sys.argv[2]) != 0 and failed == 0):
	failed += 1
line = f"{passed} passed, {failed} failed"
if skipped:
	line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
PY
