# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Harness of the gvisor suite: dpdk-testpmd on net_shmlink ports against real gVisor
netstacks (app/gvisor-peer's shmlink-gvisor-peer). Python 3 standard library only.

  - Every process runs under `timeout -k`, in its own session, and is killed when the
    test's Workspace closes (also on failure or SIGTERM from meson).
  - Files live in a fresh directory under /tmp; EAL's /var/run/dpdk/<prefix> is removed.
  - Every wait is bounded and fails with the tail of the process's output.
  - testpmd busy-polls on CPU 0 (--lcores '0@0,1@0'); the gVisor peers run on CPU 1.

Each test file is run as `test_x.py DRIVER_SO GVISOR_PEER [unittest args]`.
"""

import os
import re
import shutil
import signal
import sys
import time
import unittest

# The process harness is test/system's.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'system'))
import shmlink_sys as sysh  # noqa: E402
from shmlink_sys import (ASYNC_LINES, Proc, _Terminated, _on_sigterm,  # noqa: E402,F401
                         wait_until, xstat_errors)

TESTPMD = shutil.which('dpdk-testpmd') or '/usr/bin/dpdk-testpmd'
DRIVER = None
PEER = None
TESTPMD_LCORES = '0@0,1@0'
PEER_CPU = '1'
NB_MBUFS = 16384
PROMPT = 'testpmd> '
LSC = r'Port %d: link state change event'


class Testpmd(sysh.Testpmd):
    """test/system's dpdk-testpmd driver, with several ports and this suite's EAL
    arguments (testpmd's lcores on CPU 0)."""

    def __init__(self, ws, name, vdevs, fwd, args=(), limit=120):
        self.prefix = ws.prefix(name)
        argv = ['stdbuf', '-o0', TESTPMD, '--no-huge', '-m', '512', '--no-pci', '--no-shconf',
                '--file-prefix', self.prefix, '-d', os.path.basename(DRIVER),
                '--log-level', 'pmd.net.shmlink,info', '--lcores', TESTPMD_LCORES]
        for v in vdevs:
            argv += ['--vdev', v]
        argv += ['--', '-i', '--total-num-mbufs=%d' % NB_MBUFS, '--forward-mode=' + fwd]
        argv += list(args)
        Proc.__init__(self, ws, name, argv, limit, stdin=True)
        self.nb_ports = len(vdevs)

    def ready(self, timeout=30):
        self.wait_clean(re.escape(PROMPT), 0, timeout)
        out = self.cmd('show port summary all')
        m = re.search(r'Number of available ports:\s*(\d+)', out)
        if m is None or int(m.group(1)) != self.nb_ports:
            raise AssertionError('%s: want %d ports:\n%s' % (self.name, self.nb_ports, out))
        return self

    def stats(self, port=0):
        return self.port_stats(port)

    def link(self, port=0):
        return self.link_status(port)

    def wait_link(self, state, port=0, timeout=10):
        super().wait_link(state, timeout, port)


class Peer(Proc):
    """shmlink-gvisor-peer on CPU 1: link and stack flags, then a command."""

    def __init__(self, ws, name, sock, addrs, cmd, flags=(), limit=60):
        argv = ['taskset', '-c', PEER_CPU, PEER, '-socket', sock, '-wait', '20s']
        for a in addrs:
            argv += ['-addr', a]
        argv += list(flags) + list(cmd)
        super().__init__(ws, name, argv, limit, stdin=False)

    def attached(self, timeout=15):
        self.wait_for(r'attached to .* as gVisor (client|server)', timeout)
        return self

    def finish(self, timeout=60, rc=0):
        """Wait for the command to end with exit status @rc; return its output."""
        got = self.wait(timeout)
        if got != rc:
            raise AssertionError('%s exited %d, want %d:\n%s' % (self.name, got, rc, self.tail()))
        return self.output


def parse_ping(out):
    m = re.search(r'ping (\S+): (\d+) sent, (\d+) received, (\d+) lost; '
                  r'rtt min/avg/median/max ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) us', out)
    if m is None:
        raise AssertionError('no ping summary in:\n' + out[-2000:])
    return {'sent': int(m.group(2)), 'received': int(m.group(3)), 'lost': int(m.group(4)),
            'min': float(m.group(5)), 'avg': float(m.group(6)), 'median': float(m.group(7)),
            'max': float(m.group(8))}


def parse_rate(out, what):
    """Bytes and Mbit/s of a tcp-send/tcp-recv/tcp-sink line."""
    m = re.search(what + r'.*?(\d+) (?:of \d+ )?bytes.*?: ([\d.]+) Mbit/s', out)
    if m is None:
        raise AssertionError('no %s line in:\n%s' % (what, out[-2000:]))
    return int(m.group(1)), float(m.group(2))


class Workspace(sysh.Workspace):
    """shmlink_sys's, making this suite's testpmd and gVisor peers."""

    stem = 'gv'

    def testpmd(self, name, vdevs, fwd, args=(), limit=120):
        return Testpmd(self, name, vdevs, fwd, args, limit)

    def peer(self, name, sock, addrs, cmd, flags=(), limit=60):
        return Peer(self, name, sock, addrs, cmd, flags, limit)


class GvTestCase(sysh.SysTestCase):
    """A fresh Workspace in self.ws per test; process output is printed on failure, and
    each test's duration."""

    tag = 'gv'
    workspace = Workspace

    def run(self, result=None):
        t0 = time.monotonic()
        try:
            return super().run(result)
        finally:
            sys.stderr.write('[%s: %.1f s]\n' % (self.id(), time.monotonic() - t0))

    def report(self, text):
        """A figure for the log (meson keeps the test's output)."""
        sys.stderr.write('\n  %s\n' % text)


def main():
    global DRIVER, PEER
    if len(sys.argv) < 3:
        sys.stderr.write('usage: %s DRIVER_SO GVISOR_PEER [unittest args]\n' % sys.argv[0])
        sys.exit(2)
    DRIVER = os.path.abspath(sys.argv[1])
    PEER = os.path.abspath(sys.argv[2])
    for f in (DRIVER, PEER):
        if not os.path.exists(f):
            sys.stderr.write('missing %s\n' % f)
            sys.exit(2)
    # EAL refuses -d paths under a world-writable directory but loads a bare name
    # from LD_LIBRARY_PATH.
    os.environ['LD_LIBRARY_PATH'] = ':'.join(
        p for p in (os.path.dirname(DRIVER), os.environ.get('LD_LIBRARY_PATH')) if p)
    signal.signal(signal.SIGTERM, _on_sigterm)
    prog = unittest.main(module='__main__', argv=[sys.argv[0]] + sys.argv[3:], exit=False,
                         verbosity=2)
    sys.exit(0 if prog.result.wasSuccessful() else 1)
