#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# The example of the libshmlink guide works: shmlink-echo attaches to a listening
# shmlink-peer (txonly --verify) in each role and sends back every frame, intact and in
# order (the peer checks each one and fails on any loss or error).
# Usage: test_echo.sh SHMLINK_ECHO SHMLINK_PEER
set -eu

echo_bin=$1 peer=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/shmlink-echo.XXXXXX")
peer_pid=""
cleanup() {
	[ -z "$peer_pid" ] || kill "$peer_pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

for role in server client; do
	sock=$dir/$role.sock
	timeout -k 5 30 "$peer" --socket "$sock" --listen --role "$role" --mode txonly \
		--verify --duration 1 --expect-min 1000 --fail-on-errors \
		--connect-timeout 10 >"$dir/peer.log" 2>&1 &
	peer_pid=$!
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	rc=0
	timeout -k 5 30 "$echo_bin" "$sock" 20 >"$dir/echo.log" 2>&1 || rc=$?
	prc=0
	wait "$peer_pid" || prc=$?
	peer_pid=""
	if [ $rc -ne 0 ] || [ $prc -ne 0 ]; then
		echo "peer as $role: shmlink-echo exit $rc, shmlink-peer exit $prc" >&2
		cat "$dir/echo.log" "$dir/peer.log" >&2
		exit 1
	fi
	want=client
	[ "$role" = client ] && want=server
	grep -q "attached as the $want" "$dir/echo.log" ||
		{ echo "shmlink-echo did not take the $want role" >&2; cat "$dir/echo.log" >&2; exit 1; }
	echo "peer as $role: $(grep echoed "$dir/echo.log")"
done
