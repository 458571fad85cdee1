#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# The test command: set up the machine (idempotent), build with warnings as errors,
# run the whole test suite, then the DPDK matrix (devtools/shmlink-compat.sh: DPDK
# 24.11 and 25.11 in Debian chroots, 22.11 from this run), and end with one line
# "N passed, N failed" counting both.
# Usage: usertools/shmlink-test.sh [meson test args, e.g. --suite unit]
#   With meson test arguments, or SHMLINK_MATRIX=no, the matrix does not run.
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
matrix=${SHMLINK_MATRIX:-yes}
[ $# -eq 0 ] || matrix=no
# The matrix's chroots are made and set up beside the main suite (mostly downloads and
# unpacking); the matrix itself runs after it and finds them ready.
prep=
if [ "$matrix" = yes ]; then
	"$top/devtools/shmlink-compat.sh" --prepare-only >/dev/null 2>&1 &
	prep=$!
fi
meson test -C "$build" --print-errorlogs "$@" || rc=$?

counts=$top/build-compat/counts
rm -f "$counts"
if [ "$matrix" = yes ]; then
	wait "$prep" || true
	"$top/devtools/shmlink-compat.sh" --host-results "$build" || rc=1
fi

# Count from meson's own log, one entry per test program.
/usr/bin/python3 - "$build/meson-logs/testlog.json" "$rc" "$counts" "$matrix" <<'PY'
import json, sys
passed = failed = skipped = 0
if sys.argv[4] == 'yes':
	try:
		p, f = open(sys.argv[3]).read().split()
		passed, failed = int(p), int(f)
	except (OSError, ValueError):
		failed = 1	# the matrix did not finish
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
	failed += 1
if passed + failed == 0 or (int(sys.argv[2]) != 0 and failed == 0):
	failed += 1
line = f"{passed} passed, {failed} failed"
if skipped:
	line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
PY
