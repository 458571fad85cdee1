#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# The run command: set up the machine (idempotent), build the release configuration,
# and run the main job, printing its throughput. Until the net_shmlink driver lands this
# is the library-level demo: a client and a server endpoint in two pinned processes.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHMLINK_BUILD:-$top/build}
cd "$top"

"$top/usertools/shmlink-setup.sh"
[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release >/dev/null
ninja -C "$build" >/dev/null

for size in 64 1518; do
	"$build/app/shmlink-demo/shmlink-demo" --duration "${SHMLINK_DURATION:-3}" --size "$size"
done
