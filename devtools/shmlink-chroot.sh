#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# Debian chroots for testing shmlink against the DPDK and gVisor of other Debian suites,
# made with debootstrap from the Debian archive this machine's apt already uses.
#
#   shmlink-chroot.sh make SUITE          make the chroot (idempotent: a made one is kept)
#   shmlink-chroot.sh run SUITE CMD...    run CMD (with sh -c) in it, in the checkout
#   shmlink-chroot.sh path SUITE          print where it lives
#
# Chroots live in $SHMLINK_CHROOTS (default /var/cache/shmlink/chroots/SUITE). "run"
# works in a private mount namespace: /proc, /sys, /dev (with /dev/shm and any
# hugetlbfs mount), a fresh /run and /tmp, the checkout at /shmlink and, if
# SHMLINK_SDK_FALLBACK names a folder, that folder read-only at /shmlink-sdk. Every mount
# goes away with the command; nothing outside the chroot changes.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
chroots=${SHMLINK_CHROOTS:-/var/cache/shmlink/chroots}

die() { echo "shmlink-chroot: error: $*" >&2; exit 1; }
say() { echo "shmlink-chroot: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "must run as root"
[ $# -ge 2 ] || die "usage: $0 make|run|path SUITE [CMD...]"
verb=$1 suite=$2
shift 2
case "$suite" in
*[!a-z0-9-]* | "") die "bad suite name '$suite'" ;;
esac
root=$chroots/$suite

# The Debian archive this machine's apt uses (the first "deb" entry of a Debian suite).
archive() {
	apt-get indextargets --format '$(SITE) $(LABEL)' 'Identifier: Packages' 2>/dev/null |
		awk '$2 == "Debian" { print $1; exit }'
}

make_chroot() {
	[ -f "$root/.shmlink-chroot" ] && { say "$suite: $root is ready"; return 0; }
	command -v debootstrap >/dev/null || {
		say "installing debootstrap"
		# The matrix prepares its chroots side by side: wait for the other's apt.
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y \
			-qq --no-install-recommends debootstrap >/dev/null ||
			die "cannot install debootstrap"
	}
	mirror=$(archive)
	[ -n "$mirror" ] || die "no Debian archive in this machine's apt sources"
	tmp=$root.tmp
	rm -rf "$tmp"
	mkdir -p "$chroots"
	say "$suite: debootstrap from $mirror into $root (once; later runs reuse it)"
	t0=$(date +%s)
	debootstrap --variant=minbase "$suite" "$tmp" "$mirror" >"$tmp.log" 2>&1 || {
		tail -n 20 "$tmp.log" >&2
		die "debootstrap of '$suite' from $mirror failed (no network to the archive?):" \
			"cannot test this suite"
	}
	# The archive may serve a snapshot of sid past its Release file's Valid-Until.
	cat >"$tmp/etc/apt/apt.conf.d/99shmlink" <<'CONF'
// written by shmlink-chroot.sh
Acquire::Check-Valid-Until "false";
APT::Install-Recommends "false";
CONF
	echo "$suite $mirror $(date -u +%F)" >"$tmp/.shmlink-chroot"
	rm -f "$tmp.log"
	mv "$tmp" "$root"
	say "$suite: made in $(($(date +%s) - t0)) s"
}

# Run "$@" inside the chroot, in a private mount namespace.
run_in() {
	[ -f "$root/.shmlink-chroot" ] || die "no chroot for '$suite': run '$0 make $suite' first"
	cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	mkdir -p "$root/shmlink" "$root/shmlink-sdk"
	sdk=${SHMLINK_SDK_FALLBACK:-}
	SHMLINK_ROOT=$root SHMLINK_TOP=$top SHMLINK_SDK=$sdk \
	exec unshare --mount --propagation private sh -eu -c '
		r=$SHMLINK_ROOT
		# The root a mount point of its own: ip netns (the kernel-path tests) makes
		# its mounts slaves of /, which must be one.
		mount --bind "$r" "$r"
		mount -t proc proc "$r/proc"
		mount --rbind /sys "$r/sys"
		mount --rbind /dev "$r/dev"
		mount -t tmpfs -o mode=755 tmpfs "$r/run"
		mkdir -m 1777 "$r/run/lock"
		mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
		mount --bind "$SHMLINK_TOP" "$r/shmlink"
		if [ -n "$SHMLINK_SDK" ]; then
			mount --bind "$SHMLINK_SDK" "$r/shmlink-sdk"
			mount -o remount,bind,ro "$r/shmlink-sdk"
		fi
		exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
			SHMLINK_SDK_FALLBACK=${SHMLINK_SDK:+/shmlink-sdk} \
			/bin/sh -c "cd /shmlink && $1"
	' shmlink-chroot "$@"
}

case "$verb" in
make) make_chroot ;;
run)
	[ $# -ge 1 ] || die "usage: $0 run SUITE CMD..."
	run_in "$*"
	;;
path) echo "$root" ;;
*) die "unknown verb '$verb' (make, run, path)" ;;
esac
