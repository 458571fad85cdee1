#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# Prepare a Debian 12 machine to build and test shmlink. Idempotent; run as root.
#  1. installs the Debian packages the build and the tests need (only those missing);
#  2. provides the DPDK driver SDK headers Debian's libdpdk-dev lacks, taken from
#     Debian's source package of exactly the installed DPDK version, cached in
#     $SHMLINK_SDK_CACHE (default /var/cache/shmlink/dpdk-sdk/<version>), never in the repo.
set -eu

PACKAGES="dpdk dpdk-dev libdpdk-dev meson ninja-build pkg-config python3-pyelftools \
golang-go golang-gvisor-gvisor-dev gcc clang libclang-rt-14-dev xz-utils python3-matplotlib \
python3-sphinx doxygen"
SDK_HEADERS="lib/ethdev/ethdev_driver.h lib/ethdev/ethdev_vdev.h \
drivers/bus/vdev/bus_vdev_driver.h lib/eal/include/dev_driver.h"
SRC_LIST=/etc/apt/sources.list.d/shmlink-deb-src.sources

die() { echo "shmlink-setup: error: $*" >&2; exit 1; }
say() { echo "shmlink-setup: $*"; }

command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian 12 only"
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

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	need_root "install:$missing"
	apt_update
	say "installing:$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
		>/dev/null || die "apt-get install failed for:$missing"
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

need_root "download the DPDK $pc_ver source package"

# apt-get source needs a deb-src entry for every suite the binary may come from.
if ! apt-get indextargets --format '$(IDENTIFIER)' 2>/dev/null | grep -qx Sources; then
	say "adding deb-src entries in $SRC_LIST"
	suites=$(. /etc/os-release && echo "$VERSION_CODENAME")
	[ -n "$suites" ] || die "cannot tell the Debian suite from /etc/os-release"
	cat > "$SRC_LIST" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $suites $suites-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $suites-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	apt_updated=0
	apt_update
fi

work=$(mktemp -d /tmp/shmlink-sdk.XXXXXX)
trap 'rm -rf "$work"' EXIT
say "downloading Debian source package dpdk=$deb_ver"
(cd "$work" && apt-get source -qq --download-only "dpdk=$deb_ver" >/dev/null 2>&1) || {
	apt_update
	(cd "$work" && apt-get source -qq --download-only "dpdk=$deb_ver" >/dev/null) ||
		die "cannot download the source package dpdk=$deb_ver (is a deb-src entry for its suite configured?)"
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
mkdir -p "$cache.tmp"
for h in $SDK_HEADERS; do
	cp "$work/$top/$h" "$cache.tmp/"
done
echo "$deb_ver" > "$cache.tmp/.complete"
rm -rf "$cache"
mv "$cache.tmp" "$cache"
say "DPDK $pc_ver driver SDK headers installed in $cache"
