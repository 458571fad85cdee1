#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# Build the libFuzzer harnesses of test/fuzz with Debian's clang (ASan + UBSan, any UB
# fatal) straight from lib/shmlink's sources, then run each for a bounded time, starting
# from its committed seed corpus. Fails if a harness does not build, or if any run
# crashes, hangs, leaks, trips a sanitizer or one of the harness's own checks.
#
# Usage: run-fuzzers.sh BUILD_DIR SRC_DIR [SECONDS] [TARGET...]
#   BUILD_DIR  where binaries, the growing corpora, logs and crash inputs go
#   SRC_DIR    the source tree (its lib/shmlink and test/fuzz are used)
#   SECONDS    per target (default 20; the environment's SHMLINK_FUZZ_SECONDS wins)
#   TARGET     only these (default: all): pipe_rx pipe_tx records ctl endpoint_client
#              endpoint_server attach
# Environment: SHMLINK_FUZZ_CC (default clang-14, else clang), SHMLINK_FUZZ_CPU (a CPU
# list for taskset: pin the runs, e.g. 1), SHMLINK_FUZZ_ARGS (more libFuzzer flags),
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

cflags="-g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fno-omit-frame-pointer
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
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

# Rebuild when the binary is older than any source it is made from.
stale() {
	bin=$1
	shift
	[ -x "$bin" ] || return 0
	for f in "$@" "$lib"/*.h "$lib"/include/*.h "$lib"/testing/*.h "$fz/fuzz_common.h" \
			"$0"; do
		[ "$f" -nt "$bin" ] && return 0
	done
	return 1
}

pin=""
if [ -n "${SHMLINK_FUZZ_CPU:-}" ] && command -v taskset >/dev/null 2>&1; then
	pin="taskset -c $SHMLINK_FUZZ_CPU"
fi

mkdir -p "$build/bin" "$build/logs" "$build/artifacts"
failed=""
summary=""
total_runs=0
for t in $targets; do
	h=$(harness "$t") || { echo "run-fuzzers: unknown target '$t' (known: $all)" >&2; exit 2; }
	hsrc=$fz/${h%%|*}
	extra=${h#*|}
	bin=$build/bin/fuzz_$t
	if stale "$bin" "$hsrc" $libsrc; then
		echo "run-fuzzers: building fuzz_$t with $cc"
		# shellcheck disable=SC2086 # the flag lists are meant to split
		if ! $cc $cflags $extra "$hsrc" $libsrc -o "$bin.tmp" >"$build/logs/$t.build" 2>&1
		then
			cat "$build/logs/$t.build" >&2
			failed="$failed $t(build)"
			continue
		fi
		mv "$bin.tmp" "$bin"
	fi
	corpus=$build/corpus/$t
	mkdir -p "$corpus"
	log=$build/logs/$t.log
	echo "run-fuzzers: fuzz_$t for ${seconds} s (seeds: test/fuzz/corpus/$t)"
	rc=0
	: >"$build/logs/$t.start"
	# -error_exitcode: a crash or sanitizer report; -timeout: one input running 10 s is
	# a hang; new inputs go to the build dir's corpus, the committed seeds are read only.
	# shellcheck disable=SC2086
	# Our own sanitizer options, not what the caller (meson test) set for its tests.
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
	runs=${runs:-0}
	total_runs=$((total_runs + runs))
	if [ "$rc" -ne 0 ] || grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' \
			-e 'ERROR: LeakSanitizer' -e 'FUZZ CHECK FAILED' -e 'ERROR: libFuzzer' \
			"$log"; then
		echo "run-fuzzers: fuzz_$t FAILED (exit $rc); end of $log:" >&2
		tail -n 60 "$log" >&2
		find "$build/artifacts" -name "$t-*" -newer "$build/logs/$t.start" \
			-exec echo "  input: {}" \; >&2
		failed="$failed $t"
		line="FAIL"
	else
		line="ok"
	fi
	rate=-
	[ -n "$secs" ] && [ "$secs" -gt 0 ] && rate=$((runs / secs))
	line=$(printf '%-16s %12s runs in %4s s  %8s exec/s  %s  %s' "$t" "$runs" \
		"${secs:--}" "$rate" "${cov:-}" "$line")
	echo "run-fuzzers: $line"
	summary="$summary
  $line"
done

echo "run-fuzzers: summary ($seconds s per target, $total_runs runs in all):$summary"
if [ -n "$failed" ]; then
	echo "run-fuzzers: FAILED:$failed" >&2
	exit 1
fi
