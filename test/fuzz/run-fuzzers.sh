#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# Build the libFuzzer harnesses of test/fuzz with Debian's clang (ASan + UBSan, any UB
# fatal) straight from lib/shmlink's sources (compiled once, linked into each), then
# run each for a bounded time, starting from its committed seed corpus, two at a time
# on CPUs 0 and 1 where there are two. Fails if a harness does not build, or if any run
# crashes, hangs, leaks, trips a sanitizer or one of the harness's own checks.
#
# Usage: run-fuzzers.sh BUILD_DIR SRC_DIR [SECONDS] [TARGET...]
#   BUILD_DIR  where binaries, the growing corpora, logs and crash inputs go
#   SRC_DIR    the source tree (its lib/shmlink and test/fuzz are used)
#   SECONDS    per target (default 20; the environment's SHMLINK_FUZZ_SECONDS wins)
#   TARGET     only these (default: all): pipe_rx pipe_tx records ctl endpoint_client
#              endpoint_server attach hdr
# Environment: SHMLINK_FUZZ_CC (default clang-14, else clang), SHMLINK_FUZZ_CPU (a CPU
# list for taskset: run one target at a time, pinned there, e.g. 1),
# SHMLINK_FUZZ_ARGS (more libFuzzer flags),
# SHMLINK_FUZZ_ASAN_OPTIONS / SHMLINK_FUZZ_UBSAN_OPTIONS (replace the defaults).
set -eu

[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR SRC_DIR [SECONDS] [TARGET...]" >&2; exit 2; }
build=$1
src=$(cd "$2" && pwd)
shift 2
seconds=${1:-20}
[ $# -gt 0 ] && shift
seconds=${SHMLINK_FUZZ_SECONDS:-$seconds}
case "$seconds" in
''|*[!0-9]*) echo "run-fuzzers: SECONDS must be a whole number, not '$seconds'" >&2; exit 2 ;;
esac

mkdir -p "$build"
build=$(cd "$build" && pwd)
lib=$src/lib/shmlink
fz=$src/test/fuzz
all="pipe_rx pipe_tx records ctl endpoint_client endpoint_server attach hdr"
targets=${*:-$all}

cc=${SHMLINK_FUZZ_CC:-}
if [ -z "$cc" ]; then
	for c in clang-14 clang; do
		if command -v "$c" >/dev/null 2>&1; then
			cc=$c
			break
		fi
	done
fi
if [ -z "$cc" ]; then
	echo "run-fuzzers: clang not found (Debian: apt-get install clang libclang-rt-14-dev," \
		"or run usertools/shmlink-setup.sh)" >&2
	exit 1
fi

# The library is built once (coverage instrumentation without libFuzzer's main), each
# harness links it.
san="address,undefined -fno-sanitize-recover=undefined"
cflags="-g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fno-omit-frame-pointer
	-I$lib/include -I$lib/testing"
libsrc="$lib/shmlink_pipe.c $lib/shmlink_queue.c $lib/shmlink_notify.c $lib/shmlink_qfile.c
	$lib/shmlink_endpoint.c $lib/shmlink_frame.c $lib/shmlink_client.c $lib/shmlink_server.c
	$lib/shmlink_ctl.c $lib/shmlink_attach.c $lib/shmlink_cksum.c $lib/shmlink_testing.c"

# target -> "harness source|extra flags"
harness() {
	case "$1" in
	pipe_rx) echo "fuzz_pipe_rx.c|" ;;
	pipe_tx) echo "fuzz_pipe_tx.c|" ;;
	records) echo "fuzz_records.c|" ;;
	ctl) echo "fuzz_ctl.c|" ;;
	endpoint_client) echo "fuzz_endpoint.c|" ;;
	endpoint_server) echo "fuzz_endpoint.c|-DFUZZ_ROLE_SERVER" ;;
	attach) echo "fuzz_attach.c|" ;;
	hdr) echo "fuzz_hdr.c|" ;;
	*) return 1 ;;
	esac
}

# Whether @1 is missing or older than any of the other arguments, the library's
# headers, the harnesses' common header or this script.
stale() {
	out=$1
	shift
	[ -e "$out" ] || return 0
	for f in "$@" "$lib"/*.h "$lib"/include/*.h "$lib"/testing/*.h "$fz/fuzz_common.h" \
			"$0"; do
		[ "$f" -nt "$out" ] && return 0
	done
	return 1
}

# Compile the library's sources into $build/obj; the objects' list in $objs.
build_lib() {
	objs=""
	for f in $libsrc; do
		o=$build/obj/$(basename "$f" .c).o
		objs="$objs $o"
		stale "$o" "$f" || continue
		# shellcheck disable=SC2086 # the flag lists are meant to split
		$cc $cflags -fsanitize=fuzzer-no-link,$san -c "$f" -o "$o.tmp" \
			>>"$build/logs/lib.build" 2>&1 || return 1
		mv "$o.tmp" "$o"
	done
}

# Build the harness of target @1 (returns non-zero with its log on stderr if it fails).
build_target() {
	h=$(harness "$1")
	hsrc=$fz/${h%%|*}
	bin=$build/bin/fuzz_$1
	# shellcheck disable=SC2086
	stale "$bin" "$hsrc" $objs || return 0
	echo "run-fuzzers: building fuzz_$1 with $cc"
	# shellcheck disable=SC2086
	if ! $cc $cflags -fsanitize=fuzzer,$san ${h#*|} "$hsrc" $objs -o "$bin.tmp" \
			>"$build/logs/$1.build" 2>&1; then
		cat "$build/logs/$1.build" >&2
		return 1
	fi
	mv "$bin.tmp" "$bin"
}

# Run target @1 pinned to CPU list @2 (none if empty); its verdict line goes to
# $build/logs/@1.line, ending in ok or FAIL.
run_target() {
	t=$1
	pin=${2:+taskset -c $2}
	bin=$build/bin/fuzz_$t
	corpus=$build/corpus/$t
	mkdir -p "$corpus"
	rm -f "$build/logs/$t.line"
	log=$build/logs/$t.log
	echo "run-fuzzers: fuzz_$t for ${seconds} s${2:+ on CPU $2} (seeds: test/fuzz/corpus/$t)"
	rc=0
	: >"$build/logs/$t.start"
	# -error_exitcode: a crash or sanitizer report; -timeout: one input running 10 s is
	# a hang; new inputs go to the build dir's corpus, the committed seeds are read only.
	# Our own sanitizer options, not what the caller (meson test) set for its tests.
	# shellcheck disable=SC2086
	ASAN_OPTIONS=${SHMLINK_FUZZ_ASAN_OPTIONS:-detect_leaks=1} \
	UBSAN_OPTIONS=${SHMLINK_FUZZ_UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	$pin "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 \
		-error_exitcode=77 -timeout_exitcode=78 -print_final_stats=1 \
		-artifact_prefix="$build/artifacts/$t-" ${SHMLINK_FUZZ_ARGS:-} \
		"$corpus" "$fz/corpus/$t" >"$log" 2>&1 || rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*cov: \([0-9]*\) ft: \([0-9]*\)'\
' corp: \([0-9]*\).*/cov \1, features \2, corpus \3/p' "$log" | tail -n 1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
	if [ "$rc" -ne 0 ] || grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' \
			-e 'ERROR: LeakSanitizer' -e 'FUZZ CHECK FAILED' -e 'ERROR: libFuzzer' \
			"$log"; then
		{
			echo "run-fuzzers: fuzz_$t FAILED (exit $rc); end of $log:"
			tail -n 60 "$log"
			find "$build/artifacts" -name "$t-*" -newer "$build/logs/$t.start" \
				-exec echo "  input: {}" \;
		} >&2
		verdict=FAIL
	else
		verdict=ok
	fi
	rate=-
	[ -n "$secs" ] && [ "$secs" -gt 0 ] && rate=$((${runs:-0} / secs))
	printf '%-16s %12s runs in %4s s  %8s exec/s  %s  %s\n' "$t" "${runs:-0}" \
		"${secs:--}" "$rate" "${cov:-}" "$verdict" >"$build/logs/$t.line"
	echo "run-fuzzers: $(cat "$build/logs/$t.line")"
}

mkdir -p "$build/bin" "$build/obj" "$build/logs" "$build/artifacts"
: >"$build/logs/lib.build"
for t in $targets; do
	harness "$t" >/dev/null || { echo "run-fuzzers: unknown target '$t' (known: $all)" >&2; exit 2; }
done
failed=""
if ! build_lib; then
	cat "$build/logs/lib.build" >&2
	echo "run-fuzzers: FAILED: the library does not build with $cc" >&2
	exit 1
fi
runnable=""
for t in $targets; do
	if build_target "$t"; then
		runnable="$runnable $t"
	else
		failed="$failed $t(build)"
	fi
done

# One lane per CPU, each running its share of the targets one after the other: with
# SHMLINK_FUZZ_CPU, one lane on those CPUs; else CPUs 0 and 1 where there are two.
lanes=""
if [ -n "${SHMLINK_FUZZ_CPU:-}" ]; then
	lanes=$SHMLINK_FUZZ_CPU
elif [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
	lanes="0 1"
fi
if [ -z "$lanes" ]; then
	for t in $runnable; do
		run_target "$t" ""
	done
else
	n=$(echo $lanes | wc -w)
	i=0
	for cpu in $lanes; do
		share=""
		j=0
		for t in $runnable; do
			[ $((j % n)) -eq "$i" ] && share="$share $t"
			j=$((j + 1))
		done
		(for t in $share; do run_target "$t" "$cpu"; done) &
		i=$((i + 1))
	done
	wait
fi

summary=""
total_runs=0
for t in $runnable; do
	line=$(cat "$build/logs/$t.line" 2>/dev/null || echo "$t (no verdict) FAIL")
	summary="$summary
  $line"
	total_runs=$((total_runs + $(echo "$line" | awk '{print $2 + 0}')))
	case "$line" in *FAIL) failed="$failed $t" ;; esac
done
echo "run-fuzzers: summary ($seconds s per target, $total_runs runs in all):$summary"
if [ -n "$failed" ]; then
	echo "run-fuzzers: FAILED:$failed" >&2
	exit 1
fi
