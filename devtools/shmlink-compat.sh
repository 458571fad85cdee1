#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# The DPDK matrix: build and test shmlink against every DPDK it supports, as Debian
# packages them, and print one table (version x check -> pass/fail with counts).
#
#   22.11  Debian 12 "bookworm": this machine
#   24.11  Debian 13 "trixie":   a chroot (devtools/shmlink-chroot.sh)
#   25.11  Debian unstable "sid": a chroot
#
# Usage: devtools/shmlink-compat.sh [--host-results BUILD] [VERSION...]
#   VERSION          22.11, 24.11 or 25.11 (default: all three)
#   --host-results   take 22.11's results from BUILD, a build of this machine whose
#                    whole suite just ran (what usertools/shmlink-test.sh does), instead
#                    of building and testing again
#   --prepare-only   only make the chroots and run their set-ups (logs in
#                    build-compat/<version>.prepare-early.log), and exit 0: what the
#                    test command starts beside the main suite, so that a later run
#                    finds them made (its own set-up is then quick)
# Per version: the set-up (usertools/shmlink-setup.sh --matrix inside the chroot), the
# build with warnings as errors, the PMD info check, the main job (testpmd forwarding
# through net_shmlink against shmlink-peer, usertools/shmlink-run.sh), and the suites
# system, interop, gvisor and install. The chroots are cached in /var/cache/shmlink;
# a version whose chroot cannot be made is a failure, never a skip. Exits non-zero on
# any failure. Run as root.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
SUITES="system interop gvisor install"
host_results=
prepare_only=no
versions=
while [ $# -gt 0 ]; do
	case "$1" in
	--host-results) host_results=$2; shift ;;
	--prepare-only) prepare_only=yes ;;
	22.11 | 24.11 | 25.11) versions="$versions $1" ;;
	*) echo "usage: $0 [--host-results BUILD | --prepare-only] [22.11|24.11|25.11]..." >&2
		exit 2 ;;
	esac
	shift
done
[ -n "$versions" ] || versions="22.11 24.11 25.11"
[ "$(id -u)" -eq 0 ] || { echo "shmlink-compat: must run as root" >&2; exit 1; }

# Headers for the suites whose source packages this archive does not serve
# (../shared/dpdk-sdk/README.md); the set-up says when it uses them.
if [ -z "${SHMLINK_SDK_FALLBACK:-}" ]; then
	for d in "$top/../shared/dpdk-sdk" /work/shared/dpdk-sdk; do
		[ -d "$d" ] && { SHMLINK_SDK_FALLBACK=$(cd "$d" && pwd); break; }
	done
fi
export SHMLINK_SDK_FALLBACK=${SHMLINK_SDK_FALLBACK:-}

out=$top/build-compat
mkdir -p "$out"
say() { echo "shmlink-compat: $*" >&2; }

suite_of() {
	case "$1" in
	22.11) echo bookworm ;;
	24.11) echo trixie ;;
	25.11) echo sid ;;
	esac
}

# Run $2 on version $1's system: this machine for 22.11, else its chroot (where the
# checkout is /shmlink).
on() {
	if [ "$1" = 22.11 ]; then
		sh -c "$2"
	else
		"$top/devtools/shmlink-chroot.sh" run "$(suite_of "$1")" \
			"export SHMLINK_SETUP=matrix; $2"
	fi
}

# The checkout as version $1's system sees it.
root_of() {
	[ "$1" = 22.11 ] && echo "$top" || echo /shmlink
}

# Make the chroot and run the set-up in it: what can run side by side (mostly downloads).
# $2: the log's name (default prepare).
prepare() {
	v=$1 log=$out/$1.${2:-prepare}.log
	if [ "$v" = 22.11 ]; then
		"$top/usertools/shmlink-setup.sh" >"$log" 2>&1
	else
		"$top/devtools/shmlink-chroot.sh" make "$(suite_of "$v")" >"$log" 2>&1 &&
			on "$v" ./usertools/shmlink-setup.sh >>"$log" 2>&1
	fi
}

# One cell: "pass", "FAIL" or "p/t" counts; failures are remembered, and every check
# is tallied in $out/counts ("passed failed": a suite counts its tests, any other
# check one) for the test command's total. 22.11's suites taken from --host-results
# are the test command's own and not counted again.
failed=0 n_pass=0 n_fail=0
cell() {
	eval "res_$(echo "$1" | tr . _)_$2=\"\$3\""
	case "$3" in
	FAIL | FAIL* | *'(F'*) failed=1 ;;
	esac
	[ "$1" = 22.11 ] && [ -n "$host_results" ] && [ "$2" != run ] && return
	[ "$2" = pmdinfo ] && return	# a test of suite system, counted there
	case "$3" in
	FAIL*) n_fail=$((n_fail + 1)) ;;
	[0-9]*/*)
		p=${3%%/*} t=${3#*/}
		t=${t%% *}
		n_pass=$((n_pass + p)) n_fail=$((n_fail + t - p))
		;;
	*) n_pass=$((n_pass + 1)) ;;
	esac
}
get() {
	eval "echo \"\${res_$(echo "$1" | tr . _)_$2:--}\""
}

# Counts of suite $2 (or test $3 of it) in a meson testlog.json: "passed/total".
counts() {
	/usr/bin/python3 - "$1" "$2" "${3:-}" <<'PY'
import json, sys
path, suite, name = sys.argv[1:]
ok = total = 0
try:
	for line in open(path):
		r = json.loads(line)
		# meson 1.0 names a test "project:suite / name", meson 1.7 "suite - project:name"
		n = r['name']
		if ' / ' in n:
			s, t = n.split(' / ', 1)
			s = s.split(':')[-1]
		else:
			s, t = n.split(' - ', 1)
			t = t.split(':')[-1]
		if s != suite or (name and t != name):
			continue
		total += 1
		ok += r['result'] in ('OK', 'EXPECTEDFAIL')
except OSError:
	pass
print('%d/%d' % (ok, total) if total else 'FAIL (none ran)')
PY
}

# The tests of suites $2.. that failed in testlog.json $1: each one's name, then the
# end of its output, so that a CI log names what failed without the build tree.
failures() {
	/usr/bin/python3 - "$@" <<'PY'
import json, sys
path, suites = sys.argv[1], sys.argv[2:]
try:
	lines = open(path).readlines()
except OSError:
	sys.exit(0)
for line in lines:
	r = json.loads(line)
	n = r['name']
	s = n.split(' / ', 1)[0].split(':')[-1] if ' / ' in n else n.split(' - ', 1)[0]
	if s not in suites or r['result'] in ('OK', 'EXPECTEDFAIL', 'SKIP'):
		continue
	print('--- %s: %s after %.0f s; the end of its output:' %
	      (n, r['result'], r.get('duration', 0)))
	out = (r.get('stdout') or '') + (r.get('stderr') or '')
	print('\n'.join(out.splitlines()[-40:]))
PY
}

# Mark counts "p/t" that are not all passed.
count_cell() {
	c=$3
	case "$c" in
	FAIL*) ;;
	*) [ "${c%%/*}" = "${c#*/}" ] || c="$c (F)" ;;
	esac
	cell "$1" "$2" "$c"
}

# Build and test version $1 (its set-up done).
check() {
	v=$1 b=build-compat/$1 log=$out/$1.log
	r=$(root_of "$v")
	: >"$log"
	if [ "$v" = 22.11 ] && [ -n "$host_results" ]; then
		b=${host_results#"$top"/}
	else
		say "$v: build"
		on "$v" "[ -f $b/build.ninja ] || meson setup $b --buildtype=debugoptimized \
			-Dwerror=true -Dinterop=enabled -Ddocs=disabled" >>"$log" 2>&1 || true
		if ! on "$v" "ninja -C $b" >>"$log" 2>&1; then
			cell "$v" build FAIL
			return
		fi
	fi
	cell "$v" build pass
	on "$v" "pkg-config --modversion libdpdk" >"$out/$v.version" 2>/dev/null || true
	on "$v" "dpkg-query -W -f '\${Version}' golang-gvisor-gvisor-dev" \
		>"$out/$v.gvisor" 2>/dev/null || true
	say "$v: main job (testpmd forwarding through net_shmlink against shmlink-peer)"
	if on "$v" "SHMLINK_BUILD=$r/$b SHMLINK_DURATION=2 ./usertools/shmlink-run.sh" \
			>"$out/$v.run.log" 2>&1; then
		rate=$(grep -Eo '[0-9.]+ Mpps' "$out/$v.run.log" | head -n 1 | tr -d ' ')
		cell "$v" run "pass${rate:+ $rate}"
	else
		cell "$v" run FAIL
	fi
	if [ "$v" != 22.11 ] || [ -z "$host_results" ]; then
		say "$v: suites $SUITES"
		args=
		for s in $SUITES; do
			args="$args --suite $s"
		done
		# Fewer attaches in test_first_frame.py than the main run's 100: the time
		# budget of the test command.
		on "$v" "SHMLINK_FIRST_FRAME_ATTACHES=20 meson test -C $b --print-errorlogs $args" \
			>>"$log" 2>&1 || true
	fi
	tl=$top/$b/meson-logs/testlog.json
	count_cell "$v" pmdinfo "$(counts "$tl" system pmdinfo)"
	for s in $SUITES; do
		count_cell "$v" "$s" "$(counts "$tl" "$s")"
	done
	# (22.11's from --host-results were printed by the test command's own run)
	if [ "$v" != 22.11 ] || [ -z "$host_results" ]; then
		failures "$tl" $SUITES | sed "s/^/$v: /" >&2
	fi
}

if [ "$prepare_only" = yes ]; then
	for v in $versions; do
		[ "$v" = 22.11 ] || prepare "$v" prepare-early &
	done
	wait
	exit 0
fi

# Chroots and set-ups side by side: they mostly wait for the archive.
say "preparing $(echo $versions) (set-up logs in $out/<version>.prepare.log)"
pids=
for v in $versions; do
	prepare "$v" &
	pids="$pids $v:$!"
done
for vp in $pids; do
	v=${vp%%:*}
	if wait "${vp#*:}"; then
		cell "$v" setup pass
	else
		cell "$v" setup FAIL
		say "$v: set-up failed:"
		tail -n 5 "$out/$v.prepare.log" >&2
	fi
done
for v in $versions; do
	[ "$(get "$v" setup)" = pass ] && check "$v"
done

printf '\n%-8s %-9s %-10s %-9s %-6s %-8s %-8s %-8s %-8s %-8s %-8s %s\n' DPDK Debian gVisor \
	setup build pmdinfo run system interop gvisor install "(run: 64 B rate)"
for v in $versions; do
	printf '%-8s %-9s %-10s %-9s %-6s %-8s %-8s %-8s %-8s %-8s %-8s %s\n' \
		"$(cat "$out/$v.version" 2>/dev/null || echo "$v")" "$(suite_of "$v")" \
		"$(sed 's/^0.0~//; s/[.+-].*//' "$out/$v.gvisor" 2>/dev/null || echo -)" \
		"$(get "$v" setup)" "$(get "$v" build)" "$(get "$v" pmdinfo)" \
		"$(get "$v" run | cut -d' ' -f1)" "$(get "$v" system)" "$(get "$v" interop)" \
		"$(get "$v" gvisor)" "$(get "$v" install)" "$(get "$v" run | cut -s -d' ' -f2)"
done
echo "$n_pass $n_fail" >"$out/counts"
if [ $failed -ne 0 ]; then
	echo "shmlink-compat: FAILED (logs: $out/<version>.log, .prepare.log, .run.log)"
	exit 1
fi
echo "shmlink-compat: every DPDK version passed"
