# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Harness for the system tests: real dpdk-testpmd processes over net_shmlink.

Python 3 standard library only. What a test may assume:
  - Every process started through a Workspace is wrapped in `timeout -k`, runs in its own
    session (process group), and is killed when the workspace closes, even if the test
    failed or was interrupted (SIGTERM from meson is turned into an exception).
  - Every file the test makes lives in the workspace's fresh directory under /tmp, which
    is removed, together with /var/run/dpdk/<prefix> of every EAL file prefix handed out.
  - Every wait is bounded; a wait that runs out raises AssertionError with the tail of the
    process's output.

Each test file is run as `python3 test_x.py BUILD_DIR DRIVER_SO [unittest args]`.
"""

import fcntl
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

TESTPMD = shutil.which('dpdk-testpmd') or '/usr/bin/dpdk-testpmd'

# Set by main() from the command line.
BUILD_DIR = None
DRIVER = None

# The two CPUs of the machine: two busy-polling processes must not share one.
LCORES = ('0@0,1@0', '0@1,1@1')
CPUS = ('0', '1')

# testpmd's pool with --no-huge -m 512.
NB_MBUFS = 16384

PROMPT = 'testpmd> '
# What testpmd's interrupt thread and the driver's control path print at any time, even
# in the middle of a command's output or of the prompt: LSC events ("\nPort 0: link
# state change event\n") and driver log lines ("peer_attach_locked(): ...\n"). A log
# line can start inside the prompt ("testp" "peer_handshake_failed(): ...\n" "md> "), so
# it is known by the driver's function prefixes, not by any lower-case word: the
# latter took "testp" with it. test/layering checks that every function of the driver
# that logs has one of these prefixes.
DRIVER_LOG_PREFIXES = ('shmlink_', 'peer_', 'arg_')
ASYNC_LINES = re.compile(r'\nPort \d+: [a-z ]+ event\n|(?:%s)[a-z_]*\(\): [^\n]*\n' %
                         '|'.join(DRIVER_LOG_PREFIXES))


def eal_args(prefix, vdevs, lcores=None, log_level='info'):
    """EAL arguments that work on these machines (see /work/shared/NOTES-dpdk.md)."""
    args = ['--no-huge', '-m', '512', '--no-pci', '--no-shconf', '--file-prefix', prefix,
            '-d', os.path.basename(DRIVER), '--log-level', 'pmd.net.shmlink,' + log_level]
    if lcores is not None:
        args += ['--lcores', lcores]
    for v in vdevs:
        args += ['--vdev', v]
    return args


def count_fds(pid):
    """Open file descriptors of process @pid."""
    return len(os.listdir('/proc/%d/fd' % pid))


def fd_targets(pid):
    """What each open FD of @pid points at, sorted (for messages about leaks)."""
    out = []
    for fd in os.listdir('/proc/%d/fd' % pid):
        try:
            out.append(os.readlink('/proc/%d/fd/%s' % (pid, fd)))
        except OSError:
            pass
    return sorted(out)


def count_maps(pid, word):
    """Mappings of @pid whose line contains @word (e.g. 'memfd:shmlink')."""
    with open('/proc/%d/maps' % pid) as f:
        return sum(1 for line in f if word in line)


def wait_until(pred, timeout, what, interval=0.05):
    """Poll @pred until it returns a true value (returned) or @timeout s pass (fails)."""
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
    """A process whose merged stdout/stderr is collected by a thread.

    Positions (mark()) are offsets into the collected output; wait_for() searches from a
    position, so a test can wait for what a command printed and nothing earlier."""

    def __init__(self, ws, name, argv, limit, stdin=True):
        self.ws = ws
        self.name = name
        self.argv = argv
        self._buf = []
        self._text = ''
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

    def wait_for(self, pattern, timeout, since=0, flags=re.M):
        """Wait for regex @pattern in the output from position @since; return the match."""
        rx = re.compile(pattern, flags)
        end = time.monotonic() + timeout
        while True:
            text = self.output
            m = rx.search(text, since)
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

    def wait_clean(self, pattern, since, timeout):
        """Wait for @pattern in the output from @since with the asynchronous lines
        (ASYNC_LINES) removed; return (that text, match)."""
        rx = re.compile(pattern, re.M)
        end = time.monotonic() + timeout
        while True:
            text = ASYNC_LINES.sub('', self.output[since:])
            m = rx.search(text)
            if m:
                return text, m
            if time.monotonic() > end or self._eof:
                raise AssertionError('%s: %s waiting for /%s/; output ends with:\n%s' % (
                    self.name, 'exited' if self._eof else 'timed out after %.1f s' % timeout,
                    pattern, self.tail()))
            with self._cond:
                if not self._buf and not self._eof:
                    self._cond.wait(0.02)

    def count(self, pattern, since=0):
        return len(re.findall(pattern, self.output[since:], re.M))

    def send(self, text):
        self.popen.stdin.write(text.encode())
        self.popen.stdin.flush()

    @property
    def pid(self):
        """The pid of the program itself (timeout's child), not of the timeout wrapper."""
        wrapper = self.popen.pid

        def child():
            try:
                with open('/proc/%d/task/%d/children' % (wrapper, wrapper)) as f:
                    kids = f.read().split()
            except OSError:
                return None
            return int(kids[0]) if kids else None
        return wait_until(child, 5, '%s to start' % self.name)

    def alive(self):
        return self.popen.poll() is None

    def wait(self, timeout):
        """Wait for the process to end; return its exit status (timeout's, which passes
        the program's status through, 124 if it ran out of time, 128+n if killed)."""
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError('%s did not exit within %.1f s; output ends with:\n%s' % (
                self.name, timeout, self.tail()))
        self._thread.join(5)
        return rc

    def close_stdin(self):
        if self.popen.stdin is not None and not self.popen.stdin.closed:
            try:
                self.popen.stdin.close()
            except OSError:
                pass

    def kill(self):
        """Kill the whole process group (ours: start_new_session) and reap it."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.close_stdin()
        self._thread.join(5)


_STAT_RX = re.compile(r'RX-packets:\s*(\d+)\s+RX-missed:\s*(\d+)\s+RX-bytes:\s*(\d+)\s*'
                      r'RX-errors:\s*(\d+)\s*RX-nombuf:\s*(\d+)\s*'
                      r'TX-packets:\s*(\d+)\s+TX-errors:\s*(\d+)\s+TX-bytes:\s*(\d+)')
_FWD_ACC = re.compile(r'Accumulated forward statistics for all ports\+*\s*'
                      r'RX-packets:\s*(\d+)\s+RX-dropped:\s*(\d+)\s+RX-total:\s*(\d+)\s*'
                      r'TX-packets:\s*(\d+)\s+TX-dropped:\s*(\d+)\s+TX-total:\s*(\d+)')


# Set by test/hostile/asan_system.py: run every testpmd with this libasan preloaded
# (the driver is then an ASan + UBSan build), and fail a test whose testpmd reported.
ASAN_LIB = os.environ.get('SHMLINK_SYS_ASAN_LIB')
LIBSTDBUF = '/usr/libexec/coreutils/libstdbuf.so'
SANITIZER_REPORT = re.compile(r'ERROR: AddressSanitizer|ERROR: LeakSanitizer|'
                              r'runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer')


def testpmd_launcher():
    """What runs testpmd with unbuffered output (stdbuf -o0), and libasan if asked."""
    if not ASAN_LIB:
        return ['stdbuf', '-o0']
    # libasan must come first; stdbuf's own LD_PRELOAD would replace it.
    return ['env', 'LD_PRELOAD=%s:%s' % (ASAN_LIB, LIBSTDBUF), '_STDBUF_O=0',
            'ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1',
            'UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1']


class Testpmd(Proc):
    """dpdk-testpmd in interactive mode, fed command by command through a pipe.

    Its stdout is made unbuffered (stdbuf -o0) so that command output, the prompt and
    the driver's log lines come in the order they were written."""

    def __init__(self, ws, name, vdev, side=0, fwd='io', args=(), limit=120,
                 log_level='info'):
        self.prefix = ws.prefix(name)
        argv = (testpmd_launcher() + [TESTPMD] +
                eal_args(self.prefix, [vdev], LCORES[side], log_level) +
                ['--', '-i', '--total-num-mbufs=%d' % NB_MBUFS, '--forward-mode=' + fwd] +
                list(args))
        super().__init__(ws, name, argv, limit)

    def ready(self, timeout=30):
        """Wait for the first prompt: EAL, the port and the pool are set up."""
        self.wait_for(re.escape(PROMPT), timeout)
        return self

    def cmd(self, line, timeout=10, done=None):
        """Run one command; return what it printed up to the next prompt, without the
        asynchronous lines, which can land anywhere in it, even inside the prompt."""
        start = self.mark()
        self.send(line + '\n')
        pattern = re.escape(PROMPT)
        if done is not None:
            pattern = r'(?:%s)[\s\S]*?%s' % (done, pattern)
        text, m = self.wait_clean(pattern, start, timeout)
        return text[:m.end() - len(PROMPT)]

    def port_stats(self, port=0):
        """`show port stats`: RX/TX packets, bytes and error counters of the port."""
        out = self.cmd('show port stats %d' % port, done=r'Tx-pps')
        m = _STAT_RX.search(out)
        if m is None:
            raise AssertionError('%s: cannot parse port stats:\n%s' % (self.name, out))
        keys = ('rx', 'rx_missed', 'rx_bytes', 'rx_errors', 'rx_nombuf', 'tx', 'tx_errors',
                'tx_bytes')
        return dict(zip(keys, (int(v) for v in m.groups())))

    def xstats(self, port=0):
        out = self.cmd('show port xstats %d' % port, done=r'NIC extended statistics')
        return {k: int(v) for k, v in re.findall(r'^(\w+):\s*(\d+)\s*$', out, re.M)}

    def link_status(self, port=0):
        out = self.cmd('show port info %d' % port, done=r'Link status:\s*\w+')
        return re.search(r'Link status:\s*(\w+)', out).group(1)

    def wait_link(self, state, timeout=10, port=0):
        """Wait for `show port info` to report the link @state ('up' or 'down')."""
        wait_until(lambda: self.link_status(port) == state, timeout,
                   '%s: link %s' % (self.name, state), 0.1)

    def start(self, tx_first=None):
        line = 'start' if tx_first is None else 'start tx_first %d' % tx_first
        return self.cmd(line, done=r'forwarding packets/burst|packet forwarding - ports')

    def stop(self):
        """Stop forwarding; return the accumulated forward statistics."""
        out = self.cmd('stop', timeout=20, done=r'Done\.')
        m = _FWD_ACC.search(out)
        if m is None:
            raise AssertionError('%s: no forward statistics after stop:\n%s' % (self.name, out))
        keys = ('rx', 'rx_dropped', 'rx_total', 'tx', 'tx_dropped', 'tx_total')
        return dict(zip(keys, (int(v) for v in m.groups())))

    def mempools(self):
        """`dump_mempool`: per pool, its size and the objects available (in the common
        pool plus every lcore cache), so size - available mbufs are in use. testpmd of
        DPDK 25.11 spells the command `dump mempool`."""
        out = self.cmd('dump_mempool', timeout=10)
        if 'Command not found' in out:
            out = self.cmd('dump mempool', timeout=10)
        pools = {}
        for block in re.split(r'^mempool <', out, flags=re.M)[1:]:
            name = block.split('>', 1)[0]
            size = int(re.search(r'^\s*size=(\d+)', block, re.M).group(1))
            common = int(re.search(r'common_pool_count=(\d+)', block).group(1))
            cache = re.search(r'total_cache_count=(\d+)', block)
            pools[name] = {'size': size,
                           'available': common + (int(cache.group(1)) if cache else 0)}
        return pools

    def quit(self, timeout=20):
        """`quit` and wait for a clean exit; return the exit status."""
        if self.alive():
            try:
                self.send('quit\n')
            except (BrokenPipeError, OSError):
                pass
        rc = self.wait(timeout)
        self.close_stdin()
        return rc


class Workspace:
    """Fresh directory, unique names, and cleanup of everything started or made. @stem
    names the suite in the directory's and the EAL prefixes' names."""

    stem = 'sys'

    def __init__(self, tag):
        self.tag = tag
        self.dir = tempfile.mkdtemp(prefix='shmlink-%s-%s-' % (self.stem, tag), dir='/tmp')
        self.procs = []
        self.prefixes = []
        self.files = []
        self._n = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(keep_logs=exc[0] is not None)
        return False

    def path(self, name):
        return os.path.join(self.dir, name)

    def prefix(self, name):
        """A unique EAL file prefix; its /var/run/dpdk directory is removed at the end."""
        self._n += 1
        p = 'shm%s-%d-%s-%d-%s' % (self.stem, os.getpid(), self.tag, self._n, name)
        self.prefixes.append(p)
        return p

    def testpmd(self, name, vdev, **kw):
        return Testpmd(self, name, vdev, **kw)

    def run(self, name, argv, limit=60, stdin=True):
        return Proc(self, name, argv, limit, stdin=stdin)

    def close(self, keep_logs=False):
        for p in self.procs:
            p.kill()
        if keep_logs:
            for p in self.procs:
                sys.stderr.write('---- output of %s (%s) ----\n%s\n' % (
                    p.name, ' '.join(p.argv), p.tail(6000)))
        for p in self.prefixes:
            shutil.rmtree(os.path.join('/var/run/dpdk', p), ignore_errors=True)
        for f in self.files:
            try:
                os.unlink(f)
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def xstat_errors(x):
    """The error counters among a port's xstats that are not 0: the peer's protocol
    violations (peer_*) and frames too long or too short to carry. Fails if the port
    has no peer_* counters at all (the xstats were not read)."""
    if not any(k.startswith('peer_') for k in x):
        raise AssertionError('no peer_* counters in the xstats: %s' % x)
    keys = [k for k in x if k.startswith('peer_') and k != 'peer_attach_count']
    keys += ['rx_oversize_frames', 'rx_runt_frames', 'tx_oversize_frames']
    return {k: x[k] for k in keys if x[k] != 0}


class SysTestCase(unittest.TestCase):
    """A test case with a fresh Workspace (of class @workspace) in self.ws, closed after
    the test; when the test failed, the tail of every process's output is printed
    first."""

    tag = 'sys'
    workspace = Workspace

    def run(self, result=None):
        if result is None:
            result = self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        self.ws = self.workspace(self.tag)
        failed = True
        try:
            ret = super().run(result)
            if ASAN_LIB:
                self.check_sanitizer_reports(result)
            failed = len(result.failures) + len(result.errors) > before
            return ret
        finally:
            self.ws.close(keep_logs=failed)


    def check_sanitizer_reports(self, result):
        for p in self.ws.procs:
            m = SANITIZER_REPORT.search(p.output)
            if m:
                try:
                    raise AssertionError('sanitizer report in %s\'s output:\n%s' % (
                        p.name, p.output[max(0, m.start() - 2000):m.start() + 6000]))
                except AssertionError:
                    result.addFailure(self, sys.exc_info())


def testpmd_pair(ws, sock, listen_args='', conn_args='', fwd=('io', 'io'), args=((), ()),
                 listen_side=0):
    """A listening testpmd and a connecting one (listen=no) on socket @sock, both at the
    prompt and attached (link up on both). Returns (listener, connector)."""
    ls = ws.testpmd('listener', 'net_shmlink0,socket=%s%s' % (sock, listen_args),
                    side=listen_side, fwd=fwd[0], args=args[0])
    cn = ws.testpmd('connector', 'net_shmlink0,socket=%s,listen=no%s' % (sock, conn_args),
                    side=1 - listen_side, fwd=fwd[1], args=args[1])
    ls.ready()
    cn.ready()
    for t in (ls, cn):
        t.wait_link('up', 15)
    return ls, cn


# ---- control protocol v1 (lib/shmlink/shmlink_ctl.h) ----

CTL_MAGIC = 0x4c4d4853
CTL_VERSION = 1
CTL_HDR_LEN = 64
CTL_OFFER, CTL_ACCEPT, CTL_REJECT = 1, 2, 3
ROLE_CLIENT, ROLE_SERVER = 0, 1
F_RAW_IP, F_VIRTIO = 0x1, 0x2
R_BUSY, R_PROTOCOL, R_FDS, R_FILES, R_ROLE, R_CONFIG, R_DENIED, R_INTERNAL = range(1, 9)
FDS_PER_QP = 10
# Header: magic, version, header length, type, role, queue-pair count, queue-pair index,
# flags, MTU, buffer size, MAC, reserved, reject reason, reject text length, reserved.
_HDR = struct.Struct('<IHHBBHHHII6sHII24x')
assert _HDR.size == CTL_HDR_LEN


def ctl_pack(type, role=0, nb_qp=1, qp=0, flags=0, mtu=1500, buffer_size=2048,
             mac=b'\x02\x00\x00\x00\x00\x99', reason=0, text=b'', magic=CTL_MAGIC,
             version=CTL_VERSION, hdr_len=CTL_HDR_LEN):
    return _HDR.pack(magic, version, hdr_len, type, role, nb_qp, qp, flags, mtu,
                     buffer_size, mac, 0, reason, len(text)) + text


def ctl_unpack(data):
    if len(data) < CTL_HDR_LEN:
        raise AssertionError('control message of %d bytes, want >= 64: %r' % (len(data), data))
    f = _HDR.unpack_from(data)
    keys = ('magic', 'version', 'hdr_len', 'type', 'role', 'nb_qp', 'qp', 'flags', 'mtu',
            'buffer_size', 'mac', 'reserved', 'reason', 'text_len')
    m = dict(zip(keys, f))
    m['text'] = data[m['hdr_len']:m['hdr_len'] + m['text_len']].decode('ascii', 'replace')
    return m


def ctl_recv(sock, timeout, max_fds=64):
    """One message and its FDs; None on EOF."""
    sock.settimeout(timeout)
    data, fds, flags, _ = socket.recv_fds(sock, 4096, max_fds)
    if not data and not fds:
        return None, []
    return ctl_unpack(data), fds


PIPE_SLOT_FREE = 0x8000000000000000


def seal(fd):
    """Seal a memfd against resizing, as a listener must (the driver refuses unsealed
    files unless allow_unsealed=yes)."""
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS,
                fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    return fd


def queue_files(data_size=1 << 20, pipe_size=64 << 10, shared_size=4096, sealed=True):
    """The five FDs of one queue, as a listener makes them: [Data, EventFD, TxPipe,
    RxPipe, SharedData], each pipe starting with the "free" word, sealed."""
    fds = []
    for name, size in (('data', data_size), (None, 0), ('txpipe', pipe_size),
                       ('rxpipe', pipe_size), ('shared', shared_size)):
        if name is None:
            fds.append(os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC))
            continue
        fd = os.memfd_create('fakepeer-' + name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        os.ftruncate(fd, size)
        if name.endswith('pipe'):
            os.pwrite(fd, struct.pack('<Q', PIPE_SLOT_FREE), 0)
        if sealed:
            seal(fd)
        fds.append(fd)
    return fds


def close_fds(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def unix_seqpacket():
    return socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)


def main():
    """Run the unittest cases of the calling module: argv[1] build dir, argv[2] driver."""
    global BUILD_DIR, DRIVER
    if len(sys.argv) < 3:
        sys.stderr.write('usage: %s BUILD_DIR DRIVER_SO [unittest args]\n' % sys.argv[0])
        sys.exit(2)
    BUILD_DIR = os.path.abspath(sys.argv[1])
    DRIVER = os.path.abspath(sys.argv[2])
    # EAL refuses -d paths under a world-writable directory (a checkout in /tmp) but
    # loads a bare name from LD_LIBRARY_PATH, which every process started here inherits.
    os.environ['LD_LIBRARY_PATH'] = ':'.join(
        p for p in (os.path.dirname(DRIVER), os.environ.get('LD_LIBRARY_PATH')) if p)
    if not os.path.exists(DRIVER):
        sys.stderr.write('no driver at %s\n' % DRIVER)
        sys.exit(2)
    signal.signal(signal.SIGTERM, _on_sigterm)
    argv = [sys.argv[0]] + sys.argv[3:]
    prog = unittest.main(module='__main__', argv=argv, exit=False, verbosity=2)
    sys.exit(0 if prog.result.wasSuccessful() else 1)
