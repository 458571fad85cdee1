# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""DPDK secondary processes on a port of a primary: what they need and the tools.

A secondary (dpdk-proc-info, dpdk-dumpcap, dpdk-pdump) maps the primary's shared
configuration: the primary runs with huge pages on a mounted hugetlbfs and a file prefix,
without --no-shconf or --in-memory (/work/shared/NOTES-dpdk.md). dpdk-dumpcap takes no
-d: it loads drivers from EAL's plugin directory only.

One trap of Debian's packages: dpdk-testpmd links librte_mempool_dpaa, so its mempool
drivers register in another order than those of a tool that only loads the plugin
directory. A pool keeps the index of its operations in shared memory, so the capture
pool dpdk-dumpcap makes would run the dpaa2 operations in testpmd, and nothing is
captured. secondary_env() preloads what the primary links, so both orders agree.
"""

import fcntl
import os
import re
import shutil
import subprocess
import time

from . import proc
from .testpmd import TESTPMD

PMD = 'librte_net_shmlink.so'
EAL_MARKER = b'DPDK_PLUGIN_PATH='
# Held while the driver is in the plugin directory (test/install uses it too): every DPDK
# process on the machine loads what is there.
INSTALL_LOCK = '/run/lock/shmlink-install-test.lock'
HUGEPAGES = '/proc/sys/vm/nr_hugepages'
PROC_INFO = shutil.which('dpdk-proc-info') or '/usr/bin/dpdk-proc-info'
DUMPCAP = shutil.which('dpdk-dumpcap') or '/usr/bin/dpdk-dumpcap'
PDUMP = shutil.which('dpdk-pdump') or '/usr/bin/dpdk-pdump'


def _linked(binary):
    """{soname: path} of the libraries @binary links (ldd)."""
    out = subprocess.run(['ldd', binary], capture_output=True, text=True, timeout=30).stdout
    return dict(re.findall(r'^\s*(\S+) => (/\S+)', out, re.M))


def plugin_dir(binary=TESTPMD):
    """The default plugin directory of the EAL that @binary really loads, read from that
    librte_eal (independently of libdpdk.pc)."""
    eal = [p for n, p in _linked(binary).items() if n.startswith('librte_eal.so')]
    if not eal:
        raise proc.Failure('%s does not link librte_eal' % binary)
    with open(eal[0], 'rb') as f:
        data = f.read()
    at = data.find(EAL_MARKER)
    if at < 0:
        raise proc.Failure('%s has no %s' % (eal[0], EAL_MARKER))
    start = at + len(EAL_MARKER)
    return data[start:data.find(b'\0', start)].decode()


def secondary_env(primary=TESTPMD):
    """Environment for a secondary tool of primary @primary: LD_PRELOAD of the mempool
    drivers the primary links (module docstring), or nothing."""
    pools = sorted(p for n, p in _linked(primary).items() if n.startswith('librte_mempool_'))
    return {'LD_PRELOAD': ' '.join(pools)} if pools else {}


class HugePages:
    """@pages more 2 MiB huge pages and a hugetlbfs mounted on @mount for the time of a
    `with`: then unmounted and the page count as it was. Root only."""

    def __init__(self, mount, pages=256):
        self.mount = mount
        self.pages = pages
        self.before = None
        self.mounted = False
        self.made_dir = False

    def __enter__(self):
        with open(HUGEPAGES) as f:
            self.before = int(f.read())
        with open(HUGEPAGES, 'w') as f:
            f.write(str(self.before + self.pages))
        with open(HUGEPAGES) as f:
            got = int(f.read())
        if got < self.before + self.pages:
            self.__exit__(None, None, None)
            raise proc.Failure('asked for %d more huge pages, the kernel gave %d (memory '
                               'too fragmented?)' % (self.pages, got - self.before))
        if not os.path.isdir(self.mount):
            os.makedirs(self.mount)
            self.made_dir = True
        subprocess.run(['mount', '-t', 'hugetlbfs', '-o', 'pagesize=2M', 'nodev',
                        self.mount], check=True, timeout=30)
        self.mounted = True
        return self

    def __exit__(self, *exc):
        if self.mounted:
            for _ in range(50):
                if subprocess.run(['umount', self.mount], timeout=30,
                                  stderr=subprocess.DEVNULL).returncode == 0:
                    break
                time.sleep(0.1)    # a process that mapped it is still going
            self.mounted = False
        if self.made_dir:
            os.rmdir(self.mount)
            self.made_dir = False
        if self.before is not None:
            with open(HUGEPAGES, 'w') as f:
                f.write(str(self.before))
        return False


class PluginInstall:
    """The driver @driver in EAL's plugin directory (where meson install puts it) for the
    time of a `with`, under INSTALL_LOCK; refused if a driver is there already (an
    installed shmlink is not ours to touch)."""

    def __init__(self, driver, wait=240):
        self.driver = driver
        self.dest = os.path.join(plugin_dir(), PMD)
        self.wait = wait
        self.lock = None
        self.copied = False

    def _try_lock(self):
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def __enter__(self):
        self.lock = open(INSTALL_LOCK, 'a')
        proc.wait_until(self._try_lock, self.wait, 'the install lock', 0.5)
        if os.path.lexists(self.dest):
            self.__exit__(None, None, None)
            raise proc.Failure('%s exists: shmlink is installed on this machine; '
                               'uninstall it to run this test' % self.dest)
        shutil.copyfile(self.driver, self.dest + '.tmp')
        os.rename(self.dest + '.tmp', self.dest)
        self.copied = True
        return self

    def __exit__(self, *exc):
        if self.copied:
            os.unlink(self.dest)
            self.copied = False
        if self.lock is not None:
            self.lock.close()
            self.lock = None
        return False


def proc_info(group, prefix, args, limit=60):
    """dpdk-proc-info on the primary of file prefix @prefix with its arguments @args:
    the finished process."""
    p = proc.Proc(group, 'proc-info', [PROC_INFO, '--file-prefix', prefix, '--no-pci',
                                        '--log-level', 'lib.eal,warning', '--'] + list(args),
                  limit)
    p.wait(limit)
    return p


_PI_PORT = re.compile(r'RX-packets:\s*(\d+)\s+RX-errors:\s*(\d+)\s+RX-bytes:\s*(\d+)\s*'
                      r'RX-nombuf:\s*(\d+)\s*TX-packets:\s*(\d+)\s+TX-errors:\s*(\d+)\s+'
                      r'TX-bytes:\s*(\d+)')


def parse_stats(out):
    """The port counters of `dpdk-proc-info -- --stats` (first port), named as
    testpmd.Testpmd.port_stats() names them."""
    m = _PI_PORT.search(out)
    if m is None:
        raise proc.Failure('no port statistics in:\n' + out[-2000:])
    keys = ('rx', 'rx_errors', 'rx_bytes', 'rx_nombuf', 'tx', 'tx_errors', 'tx_bytes')
    return dict(zip(keys, (int(v) for v in m.groups())))


def parse_xstats(out):
    """{name: value} of `dpdk-proc-info -- --xstats` (first port)."""
    block = out.split('NIC extended statistics', 1)
    if len(block) < 2:
        raise proc.Failure('no extended statistics in:\n' + out[-2000:])
    return {k: int(v) for k, v in re.findall(r'^(\w+): (\d+)$', block[1], re.M)}
