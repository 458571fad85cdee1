#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Print the directory from which the installed DPDK's EAL loads drivers by itself.

usage: find_pmd_dir.py LIBDIR

LIBDIR is libdpdk.pc's libdir. A shared build of EAL loads every driver in its default
plugin directory (RTE_EAL_PMD_PATH, on Debian <libdir>/dpdk/pmds-<ABI>) at start-up,
without -d. The directory is compiled into librte_eal, which carries it as the string
"DPDK_PLUGIN_PATH=<dir>" so that tools can find it (dpdk-pmdinfo.py reads the same
string). libdpdk.pc itself does not say. Exits 1 with a message on standard error when
there is no EAL in LIBDIR or it has no plugin directory (a static build of DPDK).
"""

import glob
import os
import sys

MARKER = b'DPDK_PLUGIN_PATH='


def eal_candidates(libdir):
    """librte_eal.so (libdpdk-dev's link), then the versioned files (libdpdk23)."""
    return [os.path.join(libdir, 'librte_eal.so')] + sorted(
        glob.glob(os.path.join(libdir, 'librte_eal.so.*')))


def plugin_dir(path):
    """The plugin directory compiled into the EAL at @path, '' if none, None if no EAL."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError:
        return None
    at = data.find(MARKER)
    if at < 0:
        return ''
    start = at + len(MARKER)
    end = data.find(b'\0', start)
    return data[start:end if end >= 0 else start].decode('utf-8', 'replace')


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    for path in eal_candidates(argv[1]):
        d = plugin_dir(path)
        if d is None:
            continue
        if not d.startswith('/'):
            sys.stderr.write('%s has no default driver directory (DPDK_PLUGIN_PATH="%s"): '
                             'EAL loads drivers only with -d\n' % (path, d))
            return 1
        print(os.path.normpath(d))
        return 0
    sys.stderr.write('no librte_eal.so in %s\n' % argv[1])
    return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
