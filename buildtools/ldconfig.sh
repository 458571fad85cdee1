#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# Run by meson install after copying the files: refresh the dynamic linker's cache so
# that the installed programs find libshmlink (its directory, e.g.
# /usr/local/lib/x86_64-linux-gnu, may not have existed at the last ldconfig; meson 1.0
# does not do this itself). Not when staging into DESTDIR, nor when not root.
set -eu
[ "${MESON_INSTALL_DESTDIR_PREFIX:-}" = "${MESON_INSTALL_PREFIX:-}" ] || exit 0
[ "$(id -u)" = 0 ] || exit 0
for ldconfig in ldconfig /sbin/ldconfig /usr/sbin/ldconfig; do
	if command -v "$ldconfig" >/dev/null 2>&1; then
		exec "$ldconfig"
	fi
done
exit 0
