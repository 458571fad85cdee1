#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# The run command: set up the machine (idempotent), build the release configuration,
# and run the main job: dpdk-testpmd forwarding (io mode) through a net_shmlink port,
# with shmlink-peer playing the sandbox: it sends frames, testpmd sends them back, the
# peer checks every one and reports the rate. The two busy-polling processes are pinned
# to CPUs 0 and 1. Environment: SHMLINK_DURATION (seconds per size, default 5),
# SHMLINK_SIZES (frame sizes, default "64 1518").
#
# With --sandbox, the sandbox demo instead: a gVisor netstack (shmlink-gvisor-peer,
# sharedmem.New as a sandbox runs it) pings dpdk-testpmd --forward-mode=icmpecho
# through a net_shmlink port: 10 echoes one by one, then SHMLINK_PINGS (default 1000)
# back to back, and testpmd's counts.
#
# With --kernel, the sandbox on a real network: testpmd forwards between the gVisor
# netstack's net_shmlink port and a net_tap port whose interface lives in a network
# namespace made for the run (deleted after), where the Linux kernel serves a 256 MiB
# file with python3 -m http.server; the sandbox fetches it over HTTP, checks its hash
# and prints the throughput (SHMLINK_MIB sets the size in MiB).
set -eu

usage() {
	echo "usage: $0 [--sandbox | --kernel]" >&2
	exit 2
}
sandbox=no
for arg in "$@"; do
	case $arg in
	--sandbox) sandbox=yes ;;
	--kernel) sandbox=kernel ;;
	*) usage ;;
	esac
done

top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHMLINK_BUILD:-$top/build}
duration=${SHMLINK_DURATION:-5}
sizes=${SHMLINK_SIZES:-64 1518}
cd "$top"

"$top/usertools/shmlink-setup.sh"
[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release >/dev/null
ninja -C "$build" >/dev/null
gvpeer=$build/app/gvisor-peer/shmlink-gvisor-peer
if [ $sandbox != no ] && [ ! -x "$gvpeer" ]; then
	# A build directory configured without Go: ask for the peer (an error if Go or
	# gVisor's sources are missing, which shmlink-setup.sh installs).
	meson configure "$build" -Dinterop=enabled >/dev/null
	ninja -C "$build" >/dev/null
fi

work=$(mktemp -d /tmp/shmlink-run.XXXXXX)
prefix=shmlink-run-$$
testpmd_pid=
netns=
httpd_pid=
cleanup() {
	[ -n "$httpd_pid" ] && kill "$httpd_pid" 2>/dev/null
	[ -n "$testpmd_pid" ] && kill -INT "$testpmd_pid" 2>/dev/null && wait "$testpmd_pid"
	[ -n "$netns" ] && ip netns del "$netns" 2>/dev/null
	rm -rf "$work" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT INT TERM

cpu1=1
[ "$(nproc)" -ge 2 ] || cpu1=0

# Start dpdk-testpmd on one net_shmlink port at $1 (socket) in forwarding mode $2, log
# in $3; return once it forwards. $4: a command to run it under, $5: another --vdev.
start_testpmd() {
	# A bare -d name from LD_LIBRARY_PATH: EAL refuses driver paths under a
	# world-writable directory, such as a checkout in /tmp.
	# shellcheck disable=SC2086 # $4 is a command and its arguments
	LD_LIBRARY_PATH="$build/drivers" ${4:-} timeout -k 5 -s INT 600 dpdk-testpmd \
		--lcores '0@0,1@0' --no-huge -m 512 --no-pci --no-shconf --file-prefix "$prefix" \
		-d librte_net_shmlink.so --vdev="net_shmlink0,socket=$1,mac=02:00:00:00:00:01" \
		${5:+--vdev=$5} -- --total-num-mbufs=16384 --forward-mode="$2" --stats-period 1 \
		</dev/null >"$3" 2>&1 &
	testpmd_pid=$!
	# testpmd flushes its rx queues when forwarding starts: attach the peer after.
	wait_log "$3" "forwards packets on"
}

# Wait (10 s at most) for the log $1 to say $2; show it and fail if it does not.
wait_log() {
	i=0
	until grep -qs "$2" "$1"; do
		i=$((i + 1))
		[ $i -le 200 ] || { cat "$1" >&2; exit 1; }
		sleep 0.05
	done
}

# testpmd's totals from its log $1, after it ended.
testpmd_counts() {
	awk '/Accumulated forward statistics/ { acc = 1 }
		acc && /RX-packets:/ { rx = $2 } acc && /TX-packets:/ { tx = $2 }
		END { if (rx != "") printf "testpmd: %s frames received, %s sent%s\n", rx, tx, \
			what }' what="$2" "$1"
}

stop_testpmd() {
	kill -INT "$testpmd_pid"
	wait "$testpmd_pid" || true
	testpmd_pid=
}

if [ $sandbox = kernel ]; then
	mib=${SHMLINK_MIB:-256}
	sock=$work/sandbox.sock
	netns=shmlink-run-$$
	ip netns add "$netns"
	ip -n "$netns" link set lo up
	echo "gVisor netstack (shmlink-gvisor-peer, CPU $cpu1) <-> net_shmlink <->" \
		"dpdk-testpmd (io, CPU 0) <-> net_tap <-> Linux (netns $netns, http.server)"
	start_testpmd "$sock" io "$work/testpmd.log" "ip netns exec $netns" \
		net_tap0,iface=shtap0
	ip -n "$netns" addr add 198.18.0.1/24 dev shtap0
	ip -n "$netns" link set shtap0 up
	head -c "$((mib << 20))" /dev/urandom >"$work/blob"
	sum=$(sha256sum "$work/blob" | cut -d' ' -f1)
	ip netns exec "$netns" python3 -u -m http.server --bind 198.18.0.1 \
		--directory "$work" 8000 >"$work/httpd.log" 2>&1 &
	httpd_pid=$!
	wait_log "$work/httpd.log" "Serving HTTP"
	rc=0
	taskset -c "$cpu1" "$gvpeer" -socket "$sock" -addr 198.18.0.2/24 \
		-mac 02:00:00:00:00:02 http-get -n "$((mib << 20))" -sha256 "$sum" \
		http://198.18.0.1:8000/blob || rc=1
	[ $rc -ne 0 ] || echo "the sandbox's copy matches the kernel's file (sha256)"
	stop_testpmd
	testpmd_counts "$work/testpmd.log" " (between the sandbox and the kernel)"
	exit $rc
fi

if [ $sandbox = yes ]; then
	sock=$work/sandbox.sock
	echo "dpdk-testpmd (icmpecho, net_shmlink listening as gVisor server, CPU 0)" \
		"<-> gVisor netstack (shmlink-gvisor-peer, sharedmem.New, CPU $cpu1)"
	start_testpmd "$sock" icmpecho "$work/testpmd.log"
	rc=0
	for run in "-v -c 10 -i 100ms" "-c ${SHMLINK_PINGS:-1000}"; do
		# shellcheck disable=SC2086 # $run is a list of flags
		taskset -c "$cpu1" "$gvpeer" -socket "$sock" -addr 198.18.0.2/24 \
			-mac 02:00:00:00:00:02 ping $run 198.18.0.1 || rc=1
	done
	stop_testpmd
	testpmd_counts "$work/testpmd.log" " back (ARP and ICMP echo replies)"
	exit $rc
fi
echo "dpdk-testpmd (io forwarding, net_shmlink listening as gVisor server, CPU 0)" \
	"<-> shmlink-peer (txonly --verify, gVisor client, CPU $cpu1), $duration s per size"
for size in $sizes; do
	sock=$work/s$size.sock
	start_testpmd "$sock" io "$work/testpmd-$size.log"
	"$build/app/shmlink-peer/shmlink-peer" --socket "$sock" --mode txonly --verify \
		--txpkts "$size" --duration "$duration" --cpus "$cpu1" \
		--json "$work/peer-$size.json" --fail-on-errors >"$work/peer-$size.log" 2>&1 ||
		{ cat "$work/peer-$size.log" "$work/testpmd-$size.log" >&2; exit 1; }
	stop_testpmd
	/usr/bin/python3 - "$size" "$work/peer-$size.json" "$work/testpmd-$size.log" <<'PY'
import json, re, sys
size, js, log = int(sys.argv[1]), json.load(open(sys.argv[2])), open(sys.argv[3]).read()
t = js["total"]
m = re.search(r"Accumulated forward statistics.*?RX-packets:\s*(\d+).*?TX-packets:\s*(\d+)",
              log, re.S)
fwd = "testpmd forwarded %s of %s received" % (m.group(2), m.group(1)) if m else ""
print("%5d B: %8.3f Mpps %7.2f Gbit/s round trip (peer -> testpmd -> peer), "
      "%d frames verified, %d lost, %d corrupt; %s" %
      (size, t["rx_pps"] / 1e6, t["rx_pps"] * size * 8 / 1e9, t["rx_verified"],
       t["rx_lost"], t["rx_corrupt"], fwd))
PY
done
