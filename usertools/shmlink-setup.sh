#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# Prepare a Debian machine (12 "bookworm", 13 "trixie" or unstable "sid") to build and
# test shmlink. Idempotent; run as root.
#  1. installs the Debian packages the build and the tests need (only those missing);
#  2. provides the DPDK driver SDK headers Debian's libdpdk-dev lacks, cached in
#     $SHMLINK_SDK_CACHE (default /var/cache/shmlink/dpdk-sdk/<version>), never in the
#     repo: from Debian's source package of exactly the installed DPDK version or, where
#     the archive serves no source for this suite, from the folder named by
#     $SHMLINK_SDK_FALLBACK (holding <major.minor>/ folders of the same headers). It
#     prints which it used.
# Usage: shmlink-setup.sh [--matrix]
#   --matrix  only what the build and the suites of the DPDK matrix need (no clang for
#             the fuzzers, no Sphinx or Doxygen, no matplotlib); SHMLINK_SETUP=matrix
#             in the environment does the same for the scripts that call this one
set -eu

full=yes
[ "${SHMLINK_SETUP:-}" = matrix ] && full=no	# as --matrix, through other scripts
case "${1:-}" in
--matrix) full=no ;;
"") ;;
*) echo "usage: $0 [--matrix]" >&2; exit 2 ;;
esac

# What the build and the tests of the DPDK matrix need (devtools/shmlink-compat.sh
# runs --matrix in its chroots; iproute2 to tcpdump: the kernel programs the sandbox
# meets through net_tap in test/gvisor/test_kernel.py), then the fuzzers, docs and
# benchmark plots. dpkg-dev:
# meson asks its dpkg-architecture for Debian's multiarch libdir (without it, meson
# 1.7+ picks lib64, which ldconfig does not search).
PACKAGES="dpdk dpdk-dev libdpdk-dev meson ninja-build pkg-config python3-pyelftools \
golang-go golang-gvisor-gvisor-dev gcc xz-utils dpkg-dev \
iproute2 iputils-ping curl tcpdump"
PACKAGES_FULL="clang python3-matplotlib python3-sphinx doxygen tshark"
SDK_HEADERS="lib/ethdev/ethdev_driver.h lib/ethdev/ethdev_vdev.h \
drivers/bus/vdev/bus_vdev_driver.h lib/eal/include/dev_driver.h"
SRC_LIST=/etc/apt/sources.list.d/shmlink-deb-src.sources

die() { echo "shmlink-setup: error: $*" >&2; exit 1; }
say() { echo "shmlink-setup: $*"; }

command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian (12, 13, unstable) only"
need_root() {
	[ "$(id -u)" -eq 0 ] || die "must run as root to $1"
}

apt_updated=0
apt_update() {
	[ $apt_updated -eq 1 ] && return 0
	say "apt-get update"
	apt-get update -qq >/dev/null || die "apt-get update failed"
	apt_updated=1
}

installed() {
	dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed
}

install_missing() {
	missing=""
	for p in "$@"; do
		installed "$p" || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	need_root "install:$missing"
	apt_update
	say "installing:$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
		>/dev/null || die "apt-get install failed for:$missing"
}

if [ $full = yes ]; then
	install_missing $PACKAGES $PACKAGES_FULL
	# The fuzzers' libFuzzer runtime is named after the clang version (14 in Debian 12,
	# 19 in Debian 13 ...): the one of the clang just installed.
	clang_major=$(clang -dumpversion | cut -d. -f1)
	[ -n "$clang_major" ] || die "cannot tell the version of clang"
	install_missing "libclang-rt-$clang_major-dev"
else
	install_missing $PACKAGES
fi

# The SDK headers must come from exactly the DPDK that is installed.
deb_ver=$(dpkg-query -W -f='${Version}' libdpdk-dev)
pc_ver=$(pkg-config --modversion libdpdk) || die "pkg-config does not find libdpdk"
case "$deb_ver" in
"$pc_ver"-*) ;;
*) die "version mismatch: libdpdk-dev is $deb_ver but pkg-config reports libdpdk $pc_ver" ;;
esac
cache=${SHMLINK_SDK_CACHE:-/var/cache/shmlink/dpdk-sdk}/$pc_ver
if [ -f "$cache/.complete" ]; then
	say "DPDK $pc_ver driver SDK headers already in $cache"
	exit 0
fi

need_root "provide the DPDK $pc_ver driver SDK headers"

# Install the headers $2... (paths) as the cache; $1 says where they come from.
sdk_install() {
	from=$1
	shift
	rm -rf "$cache.tmp"
	mkdir -p "$cache.tmp"
	cp "$@" "$cache.tmp/" || die "cannot copy the headers from $from"
	echo "$deb_ver from $from" > "$cache.tmp/.complete"
	rm -rf "$cache"
	mv "$cache.tmp" "$cache"
	say "DPDK $pc_ver driver SDK headers installed in $cache, from $from"
}

# The folder of headers of the same major.minor, given for suites whose source packages
# this archive does not serve ($1 says why the source package could not be had).
sdk_fallback() {
	mm=$(echo "$pc_ver" | cut -d. -f1-2)
	dir=${SHMLINK_SDK_FALLBACK:-}/$mm
	if [ -z "${SHMLINK_SDK_FALLBACK:-}" ] || [ ! -f "$dir/ethdev_driver.h" ]; then
		die "cannot get Debian's source package dpdk=$deb_ver ($1), and no folder of" \
			"DPDK $mm driver SDK headers is given (SHMLINK_SDK_FALLBACK=DIR holding $mm/)"
	fi
	tag=$(cat "$dir/TAG" 2>/dev/null || echo "DPDK $mm")
	say "no Debian source package dpdk=$deb_ver here ($1)"
	for h in $SDK_HEADERS; do
		[ -f "$dir/$(basename "$h")" ] || die "$dir lacks $(basename "$h")"
	done
	sdk_install "upstream $tag in $dir (NOT Debian's source package)" "$dir"/*.h
	exit 0
}

# A deb-src entry for every archive and suite the binary packages come from.
add_deb_src() {
	say "adding deb-src entries in $SRC_LIST"
	apt-get indextargets --format '$(SITE) $(CODENAME)' 'Identifier: Packages' \
			2>/dev/null | sort -u | awk '
		{ suites[$1] = suites[$1] " " $2 }
		END {
			for (site in suites) {
				printf "Types: deb-src\nURIs: %s\nSuites:%s\n", site, suites[site]
				printf "Components: main\n"
				printf "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
			}
		}' > "$SRC_LIST"
	[ -s "$SRC_LIST" ] || die "cannot tell the archives of this machine's Debian packages"
	apt_updated=0
	apt-get update -qq >/dev/null 2>&1 || {
		rm -f "$SRC_LIST"
		apt-get update -qq >/dev/null 2>&1
		sdk_fallback "the archive has no source index for this suite"
	}
	apt_updated=1
}

apt-get indextargets --format '$(IDENTIFIER)' 2>/dev/null | grep -qx Sources || add_deb_src

work=$(mktemp -d /tmp/shmlink-sdk.XXXXXX)
trap 'rm -rf "$work"' EXIT
say "downloading Debian source package dpdk=$deb_ver"
(cd "$work" && apt-get source -qq --download-only "dpdk=$deb_ver" >/dev/null 2>&1) || {
	apt_update
	(cd "$work" && apt-get source -qq --download-only "dpdk=$deb_ver" >/dev/null 2>&1) ||
		sdk_fallback "apt-get source fails"
}
orig=$(ls "$work"/dpdk_*.orig.tar.* 2>/dev/null | head -n 1)
[ -n "$orig" ] || die "source package dpdk=$deb_ver has no orig tarball"
top=$(tar -tf "$orig" | head -n 1 | cut -d/ -f1)
members=""
for h in $SDK_HEADERS; do
	members="$members $top/$h"
done
say "extracting the driver SDK headers from $(basename "$orig")"
tar -xf "$orig" -C "$work" $members || die "the tarball lacks one of:$SDK_HEADERS"
ver_file=$(tar -xOf "$orig" "$top/VERSION" 2>/dev/null || true)
[ "$ver_file" = "$pc_ver" ] ||
	die "version mismatch: source VERSION is '$ver_file', installed DPDK is $pc_ver"
files=""
for h in $SDK_HEADERS; do
	files="$files $work/$top/$h"
done
sdk_install "Debian's source package $(basename "$orig")" $files
