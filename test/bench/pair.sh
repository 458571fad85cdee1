#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# What a frame costs each side of net_shmlink and of net_memif, counted on simulated
# CPUs where this VM has no hardware counters: bench_pair (two ports of one driver in
# one process, scenario A of shmlink-bench on one thread) runs under valgrind's lackey,
# and trace_pair plays its memory trace on two CPUs with their own caches and TLBs
# (see trace_pair.c for the model). Deterministic for a given build and machine.
#
# usage: test/bench/pair.sh <build dir> [cases] [sizes] [frames] [warm-up]
#   cases  default "shmlink shmlink-zc memif memif-zc"; also shmlink-huge (the
#          listening port's queue files on huge pages) and shmlink-nocsum (neither
#          port says it may send unfilled checksums, so neither fills them on receipt)
#   sizes  default "64 512 1518 imix"; frames default 1000, after 7000 of warm-up
#          (more than net_shmlink's default rings and regions hold: the simulated
#          caches must have seen who wrote each line); 1.5 to 3.5 minutes a figure
# DPDK's memory is on huge pages, as in shmlink-bench: the script reserves 2 MB pages
# as root if too few are free, and gives them back at exit.
#
# Prints per case, direction and size, per frame, for the sender (snd) and the
# receiver (rcv): instructions of the driver's bursts (drv; the receiver's include the
# free of the mbufs) and of the whole side (all: with the application's work), L1 and
# L2 misses, lines crossing between the CPUs (x: misses on lines the other CPU wrote,
# and writes invalidating its copy), L1 DTLB misses and page walks.

set -eu
build=${1:?usage: pair.sh <build dir> [cases] [sizes] [frames]}
cases=${2:-shmlink shmlink-zc memif memif-zc}
sizes=${3:-64 512 1518 imix}
frames=${4:-1000}
warmup=${5:-7000}
command -v valgrind >/dev/null 2>&1 ||
	{ echo "pair.sh: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
bench="$build/test/bench/bench_pair"
sim="$build/test/bench/trace_pair"
drv="$(cd "$build/drivers" && pwd)/librte_net_shmlink.so"
LD_LIBRARY_PATH="$(dirname "$drv")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
out=$(mktemp -d /tmp/shmlink-pair.XXXXXX)
nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
free=/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages
had=$(cat "$nr")
cleanup() {
	[ "$(cat "$nr")" = "$had" ] || echo "$had" >"$nr"
	rm -rf "$out"
}
trap cleanup EXIT INT TERM
if [ "$(cat "$free")" -lt 400 ]; then
	echo $((had + 400 - $(cat "$free"))) >"$nr" 2>/dev/null || true
	[ "$(cat "$free")" -ge 400 ] ||
		{ echo "pair.sh: needs 400 free 2 MB huge pages (run as root)" >&2; exit 2; }
fi

# EAL loads every driver of DPDK's plugin directory, and resolving their symbols is
# most of a run's instructions, each of which lackey prints: the bench runs in a mount
# namespace where that directory holds only the drivers it needs.
pmds=$(ls -d /usr/lib/*/dpdk/pmds-* 2>/dev/null | head -1)
lean=""
if [ -n "$pmds" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1; then
	mkdir "$out/pmds"
	for f in librte_bus_vdev librte_bus_pci librte_mempool_ring librte_net_memif; do
		so=$(ls "$pmds/$f".so.* | sort | tail -1)
		cp -L "$so" "$out/pmds/"
		ln -s "$(basename "$so")" "$out/pmds/$(basename "${so%.*}")"
	done
	lean="$out/pmds"
fi
lean_run() {
	if [ -n "$lean" ]; then
		unshare -m sh -c 'mount --bind "$0" "$1" && shift && exec "$@"' \
			"$lean" "$pmds" "$@"
	else
		"$@"
	fi
}

# args <case>: the bench's driver and devargs
args() {
	case $1 in
	shmlink) echo "$drv --pair shmlink" ;;
	shmlink-zc) echo "$drv --pair shmlink --srv-args zero_copy=rx --cli-args zero_copy=rx" ;;
	shmlink-huge) echo "$drv --pair shmlink --srv-args queue_files=memfd_huge" ;;
	shmlink-nocsum)
		echo "$drv --pair shmlink --srv-args tx_cksum=off --cli-args tx_cksum=off" ;;
	memif) echo "- --pair memif" ;;
	memif-zc) echo "- --pair memif --cli-args zero-copy=yes" ;;
	*) echo "pair.sh: unknown case $1" >&2; exit 2 ;;
	esac
}

# run <case> <s2c|c2s> <size>: prints the two sides' figures per frame
run() {
	tag="$out/$1.$2.$3"
	# shellcheck disable=SC2046
	lean_run timeout 1800 valgrind --tool=lackey --trace-mem=yes --log-fd=9 \
		"$bench" $(args "$1") --dir "$2" --size "$3" --frames "$frames" \
		--warmup "$warmup" --huge yes --smaps "$tag.smaps" 9>&1 >"$tag.out" 2>"$tag.err" |
		"$sim" "$tag.smaps" >"$tag.sim" ||
		{ cat "$tag.err" >&2; echo "pair.sh: $1 $2 $3 failed" >&2; exit 1; }
	n=$(awk '/^frames/ { print $2 }' "$tag.out")
	[ -n "$n" ] || { cat "$tag.err" >&2; echo "pair.sh: $1 $2 $3: no frames" >&2; exit 1; }
	# columns of trace_pair: phase instr loads stores l1 l2 x_miss x_inval tlb1 walk
	awk -v n="$n" -v c="$1" -v d="$2" -v s="$3" '
		{ for (i = 2; i <= 10; i++) v[$1, i] = $i }
		function side(drv, app) {
			return sprintf(" %6.0f %6.0f %5.1f %5.1f %5.1f %5.2f %5.2f",
				v[drv, 2] / n, (v[drv, 2] + v[app, 2]) / n,
				(v[drv, 5] + v[app, 5]) / n, (v[drv, 6] + v[app, 6]) / n,
				(v[drv, 7] + v[drv, 8] + v[app, 7] + v[app, 8]) / n,
				(v[drv, 9] + v[app, 9]) / n, (v[drv, 10] + v[app, 10]) / n) }
		END { printf "%-12s %-3s %5s%s%s\n", c, d == "s2c" ? "s>c" : "c>s", s,
			side("tx_drv", "tx_app"), side("rx_drv", "rx_app") }' "$tag.sim"
}

printf '%-12s %-3s %5s %s %s\n' case dir size \
	' snd:drv    all    l1    l2     x  tlb1  walk' \
	' rcv:drv    all    l1    l2     x  tlb1  walk'
for size in $sizes; do
	for c in $cases; do
		for d in s2c c2s; do
			run "$c" "$d" "$size"
		done
	done
done
