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
import sys
import time

import shmlink_sys as sysh
from shmlink_sys import Proc, wait_until, xstat_errors  # noqa: F401

PEER = None
PEER_CPU = '1'
LSC = r'Port %d: link state change event'


class Testpmd(sysh.Testpmd):
    """test/system's dpdk-testpmd, with several ports, its lcores on CPU 0."""

    def __init__(self, ws, name, vdevs, fwd, args=(), limit=120):
        super().__init__(ws, name, vdevs, side=0, fwd=fwd, args=args, limit=limit)

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
    global PEER
    if len(sys.argv) < 3:
        sys.stderr.write('usage: %s DRIVER_SO GVISOR_PEER [unittest args]\n' % sys.argv[0])
        sys.exit(2)
    PEER = os.path.abspath(sys.argv[2])
    if not os.path.exists(PEER):
        sys.stderr.write('missing %s\n' % PEER)
        sys.exit(2)
    sysh.use_driver(sys.argv[1])
    sysh.run_tests(sys.argv[3:])
