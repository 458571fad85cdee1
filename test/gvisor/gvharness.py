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
import subprocess
import sys
import tempfile
import threading
import time
import unittest

TESTPMD = shutil.which('dpdk-testpmd') or '/usr/bin/dpdk-testpmd'
DRIVER = None
PEER = None
TESTPMD_LCORES = '0@0,1@0'
PEER_CPU = '1'
NB_MBUFS = 16384
PROMPT = 'testpmd> '
# What testpmd's interrupt thread and the driver's control thread print at any time, even
# in the middle of a command's output or of the prompt: LSC events ("\nPort 0: link
# state change event\n") and driver log lines ("ctl_attach_locked(): ...\n").
ASYNC_LINES = re.compile(r'\nPort \d+: [a-z ]+ event\n|[a-z_]+\(\): [^\n]*\n')
LSC = r'Port %d: link state change event'


def wait_until(pred, timeout, what, interval=0.05):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError('timed out after %.1f s waiting for %s' % (timeout, what))
        time.sleep(interval)


class _Terminated(KeyboardInterrupt):
    pass


def _on_sigterm(signum, frame):
    raise _Terminated('terminated by signal %d' % signum)


class Proc:
    """A process whose merged output a thread collects; wait_for() searches it."""

    def __init__(self, ws, name, argv, limit, stdin=False):
        self.name, self.argv = name, argv
        self._buf, self._text = [], ''
        self._cond = threading.Condition()
        self._eof = False
        self.popen = subprocess.Popen(['timeout', '-k', '5', str(limit)] + argv,
                                      stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      start_new_session=True, cwd=ws.dir)
        ws.procs.append(self)
        self._thread = threading.Thread(target=self._reader, daemon=True)
        self._thread.start()

    def _reader(self):
        fd = self.popen.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b''
            if not chunk:
                break
            with self._cond:
                self._buf.append(chunk.decode('utf-8', 'replace'))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    @property
    def output(self):
        with self._cond:
            if self._buf:
                self._text += ''.join(self._buf)
                self._buf = []
            return self._text

    def mark(self):
        return len(self.output)

    def tail(self, n=3000):
        return self.output[-n:]

    def wait_for(self, pattern, timeout, since=0):
        rx = re.compile(pattern, re.M)
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self.output, since)
            if m:
                return m
            with self._cond:
                if self._buf:
                    continue
                left = end - time.monotonic()
                if left <= 0 or self._eof:
                    break
                self._cond.wait(min(left, 0.2))
        raise AssertionError('%s: %s waiting for /%s/; output ends with:\n%s' % (
            self.name, 'exited' if self._eof else 'timed out after %.1f s' % timeout,
            pattern, self.tail()))

    def count(self, pattern, since=0):
        return len(re.findall(pattern, self.output[since:], re.M))

    @property
    def pid(self):
        """The program's pid (the child of the timeout wrapper)."""
        w = self.popen.pid

        def child():
            try:
                with open('/proc/%d/task/%d/children' % (w, w)) as f:
                    kids = f.read().split()
            except OSError:
                return None
            return int(kids[0]) if kids else None
        return wait_until(child, 5, '%s to start' % self.name)

    def alive(self):
        return self.popen.poll() is None

    def wait(self, timeout):
        """Exit status (timeout's: the program's, 124 on time-out, 128+n if killed)."""
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError('%s did not exit within %.1f s; output ends with:\n%s' % (
                self.name, timeout, self.tail()))
        self._thread.join(5)
        return rc

    def kill(self):
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self.popen.stdin is not None:
            try:
                self.popen.stdin.close()
            except OSError:
                pass
        self._thread.join(5)
        self.popen.stdout.close()


class Testpmd(Proc):
    """dpdk-testpmd, interactive, fed through a pipe; unbuffered output (stdbuf)."""

    def __init__(self, ws, name, vdevs, fwd, args=(), limit=120):
        self.prefix = ws.prefix(name)
        argv = ['stdbuf', '-o0', TESTPMD, '--no-huge', '-m', '512', '--no-pci', '--no-shconf',
                '--file-prefix', self.prefix, '-d', os.path.basename(DRIVER),
                '--log-level', 'pmd.net.shmlink,info', '--lcores', TESTPMD_LCORES]
        for v in vdevs:
            argv += ['--vdev', v]
        argv += ['--', '-i', '--total-num-mbufs=%d' % NB_MBUFS, '--forward-mode=' + fwd]
        argv += list(args)
        super().__init__(ws, name, argv, limit, stdin=True)
        self.nb_ports = len(vdevs)

    def _wait_clean(self, pattern, since, timeout):
        """Wait for @pattern in the output from @since with the asynchronous lines
        removed; return (that text, match)."""
        rx = re.compile(pattern, re.M)
        end = time.monotonic() + timeout
        while True:
            text = ASYNC_LINES.sub('', self.output[since:])
            m = rx.search(text)
            if m:
                return text, m
            if time.monotonic() > end or not self.alive():
                raise AssertionError('%s: %s waiting for /%s/; output ends with:\n%s' % (
                    self.name, 'timed out after %.1f s' % timeout if self.alive() else 'exited',
                    pattern, self.tail()))
            time.sleep(0.02)

    def ready(self, timeout=30):
        self._wait_clean(re.escape(PROMPT), 0, timeout)
        out = self.cmd('show port summary all')
        m = re.search(r'Number of available ports:\s*(\d+)', out)
        if m is None or int(m.group(1)) != self.nb_ports:
            raise AssertionError('%s: want %d ports:\n%s' % (self.name, self.nb_ports, out))
        return self

    def cmd(self, line, timeout=10, done=None):
        """Run one command; return what it printed up to the next prompt (without the
        asynchronous lines)."""
        start = self.mark()
        self.popen.stdin.write((line + '\n').encode())
        self.popen.stdin.flush()
        pattern = re.escape(PROMPT)
        if done is not None:
            pattern = r'(?:%s)[\s\S]*?%s' % (done, pattern)
        text, m = self._wait_clean(pattern, start, timeout)
        return text[:m.end() - len(PROMPT)]

    def start(self):
        return self.cmd('start', done=r'packet forwarding - ports|forwarding packets/burst')

    def stop(self):
        return self.cmd('stop', timeout=20, done=r'Done\.')

    def stats(self, port=0):
        out = self.cmd('show port stats %d' % port, done=r'Tx-pps')
        m = re.search(r'RX-packets:\s*(\d+)\s+RX-missed:\s*\d+\s+RX-bytes:\s*(\d+)', out)
        t = re.search(r'TX-packets:\s*(\d+)\s+TX-errors:\s*\d+\s+TX-bytes:\s*(\d+)', out)
        return {'rx': int(m.group(1)), 'rx_bytes': int(m.group(2)),
                'tx': int(t.group(1)), 'tx_bytes': int(t.group(2))}

    def xstats(self, port=0):
        out = self.cmd('show port xstats %d' % port, done=r'NIC extended statistics')
        return {k: int(v) for k, v in re.findall(r'^(\w+):\s*(\d+)\s*$', out, re.M)}

    def link(self, port=0):
        out = self.cmd('show port info %d' % port, done=r'Link status:\s*\w+')
        return re.search(r'Link status:\s*(\w+)', out).group(1)

    def wait_link(self, state, port=0, timeout=10):
        wait_until(lambda: self.link(port) == state, timeout,
                   '%s: port %d link %s' % (self.name, port, state), 0.1)

    def quit(self, timeout=20):
        if self.alive():
            try:
                self.popen.stdin.write(b'quit\n')
                self.popen.stdin.flush()
            except OSError:
                pass
        return self.wait(timeout)


def xstat_errors(x):
    """Non-zero error counters among a port's xstats (peer protocol violations, frames
    too long or too short)."""
    if not any(k.startswith('peer_') for k in x):
        raise AssertionError('no peer_* counters in the xstats: %s' % x)
    keys = [k for k in x if k.startswith('peer_') and k != 'peer_attach_count']
    keys += ['rx_oversize_frames', 'rx_runt_frames', 'tx_oversize_frames']
    return {k: x[k] for k in keys if x[k] != 0}


class Peer(Proc):
    """shmlink-gvisor-peer on CPU 1: link and stack flags, then a command."""

    def __init__(self, ws, name, sock, addrs, cmd, flags=(), limit=60):
        argv = ['taskset', '-c', PEER_CPU, PEER, '-socket', sock, '-wait', '20s']
        for a in addrs:
            argv += ['-addr', a]
        argv += list(flags) + list(cmd)
        super().__init__(ws, name, argv, limit)

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


class Workspace:
    def __init__(self, tag):
        self.tag = tag
        self.dir = tempfile.mkdtemp(prefix='shmlink-gv-%s-' % tag, dir='/tmp')
        self.procs, self.prefixes = [], []
        self._n = 0

    def path(self, name):
        return os.path.join(self.dir, name)

    def prefix(self, name):
        self._n += 1
        p = 'shmgv-%d-%s-%d-%s' % (os.getpid(), self.tag, self._n, name)
        self.prefixes.append(p)
        return p

    def testpmd(self, name, vdevs, fwd, args=(), limit=120):
        return Testpmd(self, name, vdevs, fwd, args, limit)

    def peer(self, name, sock, addrs, cmd, flags=(), limit=60):
        return Peer(self, name, sock, addrs, cmd, flags, limit)

    def close(self, keep_logs=False):
        for p in self.procs:
            p.kill()
        if keep_logs:
            for p in self.procs:
                sys.stderr.write('---- output of %s (%s) ----\n%s\n' % (
                    p.name, ' '.join(p.argv), p.tail(6000)))
        for p in self.prefixes:
            shutil.rmtree(os.path.join('/var/run/dpdk', p), ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class GvTestCase(unittest.TestCase):
    """A fresh Workspace in self.ws per test; process output is printed on failure."""

    tag = 'gv'

    def run(self, result=None):
        if result is None:
            result = self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        self.ws = Workspace(self.tag)
        failed = True
        t0 = time.monotonic()
        try:
            ret = super().run(result)
            failed = len(result.failures) + len(result.errors) > before
            return ret
        finally:
            self.ws.close(keep_logs=failed)
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
