#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# Instructions per frame of the net_shmlink fast path, counted by callgrind on
# bench_ipf (a port and a lib/shmlink peer in one process, alternating bursts).
# Deterministic to a few instructions, so it shows what a change to the data path costs
# where timings on a shared machine cannot.
#
# usage: test/bench/ipf.sh <build dir> [sizes, default "64 1518"] [frames, default 50000]
# Prints per size the instructions per frame of the driver's bursts in each role and
# direction (mbuf allocation and freeing inside the bursts included), the two sums of
# scenario A's directions (srv->cli: server Tx + client Rx; cli->srv: client Tx +
# server Rx), and the instructions of one empty receive poll per role. Rx counts the
# application's free of the received mbufs too (with zero_copy=rx, the free gives the
# frame back). SHMLINK_IPF_DEVARGS adds devargs to the port (zero_copy=rx, say).

set -eu
command -v valgrind >/dev/null 2>&1 ||
	{ echo "ipf.sh: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
build=${1:?usage: ipf.sh <build dir> [sizes] [frames]}
sizes=${2:-64 1518}
frames=${3:-50000}
bench="$build/test/bench/bench_ipf"
drv="$(cd "$build/drivers" && pwd)/librte_net_shmlink.so"
# The bench re-executes itself unless the driver directory is on LD_LIBRARY_PATH.
LD_LIBRARY_PATH="$(dirname "$drv")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
out=$(mktemp -d /tmp/shmlink-ipf.XXXXXX)
trap 'rm -rf "$out"' EXIT INT TERM

# Inclusive instruction count of function $2 (or its clones: name.isra.0 ...): the
# lines that name the object file (with debug info, callgrind_annotate adds lines per
# source file of inlined code, which would count twice).
incl() {
	callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
		awk -v f="$2" '{ for (i = 2; i < NF; i++)
			if ($i ~ (":" f "(\\.[a-z0-9.]+)?$") && $(i + 1) ~ /^\[/) {
				gsub(",", "", $1); s += $1 } } END { print s + 0 }'
}

# run <role> <tx|rx> <size>: prints "per-frame per-empty-poll"
run() {
	cg="$out/cg.$1.$2.$3"
	res=$(timeout 300 valgrind --tool=callgrind --callgrind-out-file="$cg" --collect-atstart=no \
		--toggle-collect='bench_tx*' --toggle-collect='bench_rx*' \
		"$bench" "$drv" --size "$3" --frames "$frames" --role "$1" --dir "$2" \
		--empty 10000 ${SHMLINK_IPF_DEVARGS:+--devargs "$SHMLINK_IPF_DEVARGS"} \
		2>"$out/log") || { cat "$out/log" >&2; exit 1; }
	n=$(echo "$res" | awk '{ print $2 }')
	if [ "$2" = tx ]; then
		awk -v n="$n" -v c="$(incl "$cg" bench_tx)" 'BEGIN { printf "%.1f 0\n", c / n }'
	else
		awk -v n="$n" -v c="$(incl "$cg" bench_rx)" -v f="$(incl "$cg" bench_rx_free)" \
			-v e="$(incl "$cg" bench_rx_empty)" \
			'BEGIN { printf "%.1f %.1f\n", (c + f) / n, e / 10000 }'
	fi
}

printf '%5s %8s %8s %8s %8s %9s %9s %9s %9s\n' size srv-tx cli-rx cli-tx srv-rx \
	srv-\>cli cli-\>srv empty-srv empty-cli
for size in $sizes; do
	set -- $(run server tx "$size") $(run client rx "$size") \
		$(run client tx "$size") $(run server rx "$size")
	awk -v s="$size" -v st="$1" -v cr="$3" -v ce="$4" -v ct="$5" -v sr="$7" -v se="$8" \
		'BEGIN { printf "%5d %8.1f %8.1f %8.1f %8.1f %9.1f %9.1f %9.1f %9.1f\n",
		s, st, cr, ct, sr, st + cr, ct + sr, se, ce }'
done
