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
import signal
import socket
import struct
import sys
import time
import unittest

from shmlink import testpmd as tpmd
from shmlink.proc import (Failure, Group, Proc, count_fds, count_maps,  # noqa: F401
                          fd_targets, wait_until)
from shmlink.testpmd import ASYNC_LINES, NB_MBUFS, PROMPT, TESTPMD  # noqa: F401

# Set by main() from the command line.
BUILD_DIR = None
DRIVER = None

# The two CPUs of the machine: two busy-polling processes must not share one.
LCORES = ('0@0,1@0', '0@1,1@1')
CPUS = ('0', '1')


def settled_fd_count(pid, timeout=5):
    """The open FDs of @pid once the count holds for 150 ms: EAL's interrupt thread makes
    a new epoll instance whenever its sources change, so a single reading may catch a
    transient one."""
    last, same, end = None, 0, time.monotonic() + timeout
    while time.monotonic() < end:
        n = count_fds(pid)
        same = same + 1 if n == last else 0
        if same >= 3:
            return n
        last = n
        time.sleep(0.05)
    return count_fds(pid)


def expect_fds(pid, want, targets, timeout=5):
    """Fail unless @pid's FD count comes back to @want (its FDs then were @targets)."""
    try:
        wait_until(lambda: count_fds(pid) == want, timeout, 'the FD count of %d back to %d'
                   % (pid, want))
    except Failure:
        raise Failure('FDs leaked: %s -> %s' % (targets, fd_targets(pid)))


def peer_path():
    """app/shmlink-peer of the build under test."""
    return os.path.join(BUILD_DIR, 'app', 'shmlink-peer', 'shmlink-peer')


def eal_args(prefix=None, vdevs=(), lcores=None, log_level='info'):
    """The EAL arguments of every test (the driver by its bare name, found on
    LD_LIBRARY_PATH), with file prefix @prefix and the devices @vdevs if given."""
    args = tpmd.eal_args(os.path.basename(DRIVER), lcores, log_level)
    if prefix is not None:
        args += ['--file-prefix', prefix]
    for v in vdevs:
        args += ['--vdev', v]
    return args


class _Terminated(KeyboardInterrupt):
    pass


def _on_sigterm(signum, frame):
    raise _Terminated('terminated by signal %d' % signum)


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


class Testpmd(tpmd.Testpmd):
    """The toolbox's dpdk-testpmd with the tests' EAL arguments: ports @vdev (one
    devargs string or a list), lcores on CPU @side, pool of NB_MBUFS, forward mode
    @fwd, more testpmd arguments @args; @env: VAR=value set for it."""

    def __init__(self, ws, name, vdev, side=0, fwd='io', args=(), limit=120,
                 log_level='info', env=(), launcher=None):
        vdevs = [vdev] if isinstance(vdev, str) else list(vdev)
        if launcher is None:
            launcher = (['env'] + list(env) if env else []) + testpmd_launcher()
        super().__init__(ws, name, vdevs, eal_args(None, (), LCORES[side], log_level),
                         ['--total-num-mbufs=%d' % NB_MBUFS, '--forward-mode=' + fwd] +
                         list(args), limit=limit, launcher=launcher,
                         run_env=dict(os.environ, **dict(e.split('=', 1) for e in env)))


class Workspace(Group):
    """Fresh directory, unique names, and cleanup of everything started or made. @stem
    names the suite in the directory's and the EAL prefixes' names."""

    stem = 'sys'

    def __init__(self, tag):
        self.tag = tag
        super().__init__('%s-%s' % (self.stem, tag))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close_all(keep_logs=exc[0] is not None)
        return False

    def testpmd(self, name, vdev, **kw):
        return Testpmd(self, name, vdev, **kw)

    def run(self, name, argv, limit=60, stdin=True):
        return Proc(self, name, argv, limit, stdin=stdin)

    def close_all(self, keep_logs=False):
        """Kill everything; print each process's output first if @keep_logs."""
        for p in self.procs:
            p.kill()
        if keep_logs:
            for p in self.procs:
                sys.stderr.write('---- output of %s (%s) ----\n%s\n' % (
                    p.name, ' '.join(p.argv), p.tail(6000)))
        self.cleanup()


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
            self.ws.close_all(keep_logs=failed)


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


# ---- control protocol 1.1 (lib/shmlink/include/shmlink_ctl.h) ----

CTL_MAGIC = 0x4c4d4853
CTL_VERSION = 1
CTL_HDR_LEN = 64
CTL_HDR_LEN_1_1 = 72
O_CSUM_TX, O_CSUM_RX = 0x1, 0x2
CTL_OFFER, CTL_ACCEPT, CTL_REJECT = 1, 2, 3
ROLE_CLIENT, ROLE_SERVER = 0, 1
F_RAW_IP, F_VIRTIO = 0x1, 0x2
R_BUSY, R_PROTOCOL, R_FDS, R_FILES, R_ROLE, R_CONFIG, R_DENIED, R_INTERNAL = range(1, 9)
FDS_PER_QP = 10
# A listening port's queue sizes (SHMLINK_LISTEN_DATA_SIZE, _PIPE_SIZE in shmlink_qfile.h)
# and its buffers (SHMLINK_DEFAULT_BUFFER_SIZE).
LISTEN_DATA_SIZE, LISTEN_PIPE_SIZE, BUFFER_SIZE = 8 << 20, 256 << 10, 2048
# Header: magic, version, header length, type, role, queue-pair count, queue-pair index,
# flags, MTU, buffer size, MAC, reserved, reject reason, reject text length, reserved.
_HDR = struct.Struct('<IHHBBHHHII6sHII24x')
assert _HDR.size == CTL_HDR_LEN


def ctl_pack(type, role=0, nb_qp=1, qp=0, flags=0, mtu=1500, buffer_size=2048,
             mac=b'\x02\x00\x00\x00\x00\x99', reason=0, text=b'', magic=CTL_MAGIC,
             version=CTL_VERSION, hdr_len=CTL_HDR_LEN, offloads=None):
    """A message of version 1.0 (64-byte header), or of 1.1 if @offloads is given."""
    ext = b''
    if offloads is not None:
        hdr_len = max(hdr_len, CTL_HDR_LEN_1_1)
        ext = struct.pack('<HHI', 1, offloads, 0)
    return _HDR.pack(magic, version, hdr_len, type, role, nb_qp, qp, flags, mtu,
                     buffer_size, mac, 0, reason, len(text)) + ext + text


def ctl_unpack(data):
    if len(data) < CTL_HDR_LEN:
        raise AssertionError('control message of %d bytes, want >= 64: %r' % (len(data), data))
    f = _HDR.unpack_from(data)
    keys = ('magic', 'version', 'hdr_len', 'type', 'role', 'nb_qp', 'qp', 'flags', 'mtu',
            'buffer_size', 'mac', 'reserved', 'reason', 'text_len')
    m = dict(zip(keys, f))
    m['minor'], m['offloads'] = 0, 0
    if m['hdr_len'] >= CTL_HDR_LEN_1_1 and len(data) >= CTL_HDR_LEN_1_1:
        m['minor'], m['offloads'] = struct.unpack_from('<HH', data, CTL_HDR_LEN)
        if m['minor'] == 0:
            m['offloads'] = 0
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


def post_rx_buffer(fds, buffer_size=2048):
    """As a client that posts one receive buffer (buffer 0) into the fill pipe of the
    offer's RX queue (its TxPipe, FD 7): a server port brings the link up only once its
    client has posted. The slot (header 32, then offset, size, 0, userdata, id) and the
    free marker after it, the header published last."""
    fill = fds[5 + 2]
    os.pwrite(fill, struct.pack('<QIIQQ', 0, buffer_size, 0, 0, 0), 8)
    os.pwrite(fill, struct.pack('<Q', PIPE_SLOT_FREE), 40)
    os.pwrite(fill, struct.pack('<Q', 32), 0)


def close_fds(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def unix_seqpacket():
    return socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)


def use_driver(path):
    """Every testpmd of the run loads the driver at @path. EAL refuses -d paths under a
    world-writable directory (a checkout in /tmp) but loads a bare name from
    LD_LIBRARY_PATH, which every process started here inherits."""
    global DRIVER
    DRIVER = os.path.abspath(path)
    if not os.path.exists(DRIVER):
        sys.stderr.write('no driver at %s\n' % DRIVER)
        sys.exit(2)
    os.environ['LD_LIBRARY_PATH'] = ':'.join(
        p for p in (os.path.dirname(DRIVER), os.environ.get('LD_LIBRARY_PATH')) if p)


def run_tests(argv):
    """The unittest cases of the calling module, with unittest arguments @argv; exits
    0 if all passed. SIGTERM (meson's timeout) becomes an exception, so that every
    workspace is cleaned up."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    prog = unittest.main(module='__main__', argv=[sys.argv[0]] + argv, exit=False,
                         verbosity=2)
    sys.exit(0 if prog.result.wasSuccessful() else 1)


def main(around=None):
    """Run the unittest cases of the calling module: argv[1] build dir, argv[2] driver;
    inside `with around():` if given (what the whole module needs set up and undone,
    even when meson's SIGTERM ends it)."""
    global BUILD_DIR
    if len(sys.argv) < 3:
        sys.stderr.write('usage: %s BUILD_DIR DRIVER_SO [unittest args]\n' % sys.argv[0])
        sys.exit(2)
    BUILD_DIR = os.path.abspath(sys.argv[1])
    use_driver(sys.argv[2])
    if around is None:
        run_tests(sys.argv[3:])
    signal.signal(signal.SIGTERM, _on_sigterm)
    with around():
        run_tests(sys.argv[3:])
