#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# Install libshmlink into a scratch prefix, then build and run a C program against it
# with nothing but pkg-config: the library must be usable without DPDK or our tree.
set -eu
src=$1
work=$(mktemp -d /tmp/shmlink-install.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The library alone: no driver, tests, Go programs (the longest part of a fresh build)
# or docs.
meson setup "$work/build" "$src" --prefix="$work/prefix" --libdir=lib \
	-Dtests=false -Ddrivers=false -Dinterop=disabled -Ddocs=disabled \
	>"$work/setup.log" 2>&1 || { cat "$work/setup.log"; exit 1; }
ninja -C "$work/build" install >"$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }

export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
flags=$(pkg-config --cflags --libs libshmlink)
echo "pkg-config --cflags --libs libshmlink: $flags"
case "$flags" in
*dpdk*|*rte_*) echo "libshmlink.pc pulls in DPDK"; exit 1 ;;
esac
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror -o "$work/consumer" "$src/test/install/consumer.c" $flags
LD_LIBRARY_PATH="$work/prefix/lib" "$work/consumer"
