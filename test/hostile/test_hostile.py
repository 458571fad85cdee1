#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""A hostile peer against dpdk-testpmd with net_shmlink and lib/shmlink built with ASan
and UBSan (issue 6, item 5).

testpmd listens and forwards (io). shmlink-hostile attaches again and again for
HOSTILE_S seconds, each time running valid traffic and writing hostile values into
everything it shares (see hostile_peer.c). Then:
  - testpmd is alive, printed no sanitizer report, and counted the violations in its
    xstats (peer_* counters, one attach per hostile attach);
  - after the hostile peer left: the link is down, testpmd holds no FD and no mapping of
    it, and its mbuf pool is full again;
  - every truncation the peer tried was refused (the files are sealed);
  - a well-behaved peer (app/shmlink-peer txonly --verify --fail-on-errors) then attaches
    and gets every frame back intact.
Both roles: testpmd as gVisor's server (the hostile peer is a client) lending the
frames it receives (zero_copy=rx), and as the client, copying into mbuf chains and, for
half the time, lending. Then test/system's shmlink_zc_fwd, a client building every frame
it forwards in TX buffers the port lends (zero_copy=yes), against the hostile server:
the same checks, from its own report.

Usage: test_hostile.py BUILD_DIR SRC_DIR HOSTILE_BIN PEER_BIN [unittest args]
The driver is taken from an ASan build made in BUILD_DIR/test/hostile/asan (configured
and built here on first use, rebuilt incrementally after). SHMLINK_HOSTILE_SECONDS
changes the hostile phase (default 10 s per role, split between copying and lending in
the client role)."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import shmlink_sys as sysh

HOSTILE_S = float(os.environ.get('SHMLINK_HOSTILE_SECONDS', '10'))
GOOD_S = '3'

BUILD_DIR = SRC_DIR = HOSTILE = PEER = None
ASAN_DIR = LIBASAN = None
LIBSTDBUF = '/usr/libexec/coreutils/libstdbuf.so'
SANITIZER_REPORT = re.compile(r'ERROR: AddressSanitizer|ERROR: LeakSanitizer|'
                              r'runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer')


def eventfd_counts(pid):
    """The counter of every eventfd process @pid holds (from /proc/PID/fdinfo)."""
    counts = {}
    for fd in os.listdir('/proc/%d/fdinfo' % pid):
        try:
            with open('/proc/%d/fdinfo/%s' % (pid, fd)) as f:
                m = re.search(r'^eventfd-count:\s*([0-9a-fA-F]+)', f.read(), re.M)
        except OSError:
            continue
        if m:
            counts[int(fd)] = int(m.group(1), 16)
    return counts


def build_asan_driver():
    """Configure (once) and build the ASan + UBSan driver; return its path."""
    if not os.path.exists(os.path.join(ASAN_DIR, 'build.ninja')):
        cmd = ['meson', 'setup', ASAN_DIR, SRC_DIR, '--buildtype=debugoptimized',
               '-Db_sanitize=address,undefined', '-Db_lundef=false', '-Db_lto=false',
               '-Dtests=false', '-Dinterop=disabled']
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        if r.returncode != 0:
            raise AssertionError('meson setup of the ASan build failed:\n' +
                                 r.stdout.decode(errors='replace')[-4000:])
    r = subprocess.run(['ninja', '-C', ASAN_DIR, 'drivers/librte_net_shmlink.so'],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    if r.returncode != 0:
        raise AssertionError('building the ASan driver failed:\n' +
                             r.stdout.decode(errors='replace')[-4000:])
    path = os.path.join(ASAN_DIR, 'drivers', 'librte_net_shmlink.so')
    # It must really be instrumented.
    nm = subprocess.run(['nm', '-D', path], stdout=subprocess.PIPE, timeout=60)
    if b'__asan_' not in nm.stdout:
        raise AssertionError('%s is not built with ASan' % path)
    return path


def asan_launcher():
    """A program run on the ASan driver: Debian's libasan preloaded (the driver is
    instrumented, the program is not) and unbuffered output (libstdbuf, as stdbuf -o0
    would do)."""
    return ['env', 'LD_PRELOAD=%s:%s' % (LIBASAN, LIBSTDBUF), '_STDBUF_O=0',
            'LD_LIBRARY_PATH=' + os.path.dirname(sysh.DRIVER),
            'ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1',
            'UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1']


class AsanTestpmd(sysh.Testpmd):
    """dpdk-testpmd on the ASan driver (asan_launcher())."""

    def __init__(self, ws, name, vdev, side=0, fwd='io', args=(), limit=180):
        super().__init__(ws, name, vdev, side, fwd, args, limit, launcher=asan_launcher())


class HostilePeerTest(sysh.SysTestCase):

    tag = 'hostile'

    def assert_no_sanitizer_report(self, tp):
        m = SANITIZER_REPORT.search(tp.output)
        self.assertIsNone(m, 'sanitizer report in testpmd\'s output:\n' + (
            tp.output[max(0, m.start() - 2000):m.start() + 6000] if m else ''))

    def pool_full(self, tp, when):
        pools = tp.mempools()
        self.assertIn('mb_pool_0', pools, pools)
        pool = pools['mb_pool_0']
        self.assertEqual(pool['size'], sysh.NB_MBUFS)
        self.assertEqual(pool['available'], pool['size'], '%s: %d mbufs missing from the pool'
                         % (when, pool['size'] - pool['available']))

    def run_hostile(self, victim, sock, seconds, who):
        """The hostile peer against @victim's port at @sock for @seconds: @victim
        survives without a sanitizer report; returns the peer's report."""
        hjson = self.ws.path('hostile.json')
        h = self.ws.run('hostile', [HOSTILE, '--socket', sock, '--duration', str(seconds),
                                    '--cpu', sysh.CPUS[1], '--json', hjson],
                        limit=seconds + 60, stdin=False)
        rc = h.wait(seconds + 60)
        self.assertTrue(victim.alive(), '%s died under the hostile peer:\n%s' % (
            victim.name, victim.tail(8000)))
        self.assert_no_sanitizer_report(victim)
        self.assertEqual(rc, 0, 'shmlink-hostile failed:\n' + h.tail())
        with open(hjson) as f:
            rep = json.load(f)
        sys.stderr.write('  hostile (%s): %s\n' % (who, h.output.strip()))
        return rep

    def hostile_then_good_peer(self, devargs, role, expect, testpmd_args=(),
                               seconds=HOSTILE_S):
        """testpmd (ASan) listening with @devargs; the hostile peer, then a good one."""
        sock = self.ws.path('s')
        pjson = self.ws.path('peer.json')
        tp = AsanTestpmd(self.ws, 'testpmd', 'net_shmlink0,socket=%s%s' % (
            sock, devargs), side=0, fwd='io', args=['--no-flush-rx'] + list(testpmd_args))
        tp.ready(90)
        self.assertNotRegex(tp.output, r'No probed ethernet devices|Start ports failed',
                            'testpmd has no net_shmlink port')
        tp.start()
        pid = tp.pid
        fds0, targets0 = sysh.count_fds(pid), sysh.fd_targets(pid)
        self.pool_full(tp, 'before the hostile peer')

        mark = tp.mark()
        rep = self.run_hostile(tp, sock, seconds, 'testpmd ' + role)

        # The port notices the last hostile peer leave.
        tp.wait_link('down', 15)
        x = tp.xstats()
        sys.stderr.write('  testpmd xstats: %s\n' % ', '.join(
            '%s=%d' % kv for kv in sorted(x.items()) if kv[1] and 'peer' in kv[0] or
            kv[0].endswith('frames')))
        self.assertEqual(rep['truncate_succeeded'], 0,
                         'the peer truncated or grew a queue file testpmd maps')
        self.assertGreater(rep['truncate_attempts'], 0, rep)
        self.assertGreater(rep['attaches'], 2, rep)
        self.assertEqual(rep['attach_failures'], 0, 'the port stopped offering: %s' % rep)
        self.assertEqual(rep['as_' + ('client' if role == 'server' else 'server')],
                         rep['attaches'], rep)
        self.assertEqual(x['peer_attach_count'], rep['attaches'],
                         'testpmd counted another number of attaches than the peer made')
        for k in expect:
            self.assertGreater(x[k], 0, '%s not counted: %s' % (k, x))
        self.assertGreater(rep['dropped_by_port'], 0, 'testpmd never dropped the peer')
        self.assertIn('detached: the peer damaged a ring', tp.output[mark:])

        # Nothing of the hostile peer is left in testpmd.
        sysh.wait_until(lambda: sysh.count_fds(pid) == fds0, 10,
                        'FDs back to %d: %s -> %s' % (fds0, targets0, sysh.fd_targets(pid)))
        self.assertEqual(sysh.count_maps(pid, 'memfd:shmlink'), 0,
                         'queue files of the hostile peer still mapped')
        self.pool_full(tp, 'after the hostile peer left')
        sys.stderr.write('  testpmd eventfd counters: %s\n' % eventfd_counts(pid))
        # Forward statistics from here on are the good peer's (start resets them).
        hfwd = tp.stop()
        sys.stderr.write('  testpmd under the hostile peer: %d frames received, %d sent, '
                         '%d dropped\n' % (hfwd['rx'], hfwd['tx'], hfwd['tx_dropped']))
        self.pool_full(tp, 'after stop')
        tp.start()
        st0 = tp.port_stats()

        # A well-behaved peer attaches and forwards, every frame intact.
        mark = tp.mark()
        peer = self.ws.run('peer', [PEER, '--socket', sock, '--mode', 'txonly', '--verify',
                                    '--duration', GOOD_S, '--cpus', sysh.CPUS[1],
                                    '--fail-on-errors', '--json', pjson],
                           limit=60, stdin=False)
        rc = peer.wait(60)
        self.assertEqual(rc, 0, 'shmlink-peer failed after the hostile peer:\n' + peer.tail())
        tp.wait_for(r'detached', 15, mark)
        with open(pjson) as f:
            t = json.load(f)['total']
        sys.stderr.write('  good peer: %d frames verified, %d lost, %d corrupt\n' % (
            t['rx_verified'], t['rx_lost'], t['rx_corrupt']))
        self.assertGreater(t['rx_verified'], 1000, t)
        self.assertEqual((t['rx_verified'], t['rx_lost'], t['rx_corrupt'], t['rx_foreign'],
                          t['rx_reordered']), (t['rx_packets'], 0, 0, 0, 0), t)
        st = tp.port_stats()
        self.assertEqual(st['rx'] - st0['rx'], t['tx_packets'], 'frames of the good peer lost')
        fwd = tp.stop()
        self.assertEqual(t['tx_unreturned'], fwd['tx_dropped'], (t, fwd))
        self.pool_full(tp, 'after the good peer')
        self.assertEqual(tp.quit(30), 0, 'testpmd did not exit cleanly:\n' + tp.tail())
        self.assert_no_sanitizer_report(tp)
        self.assertFalse(os.path.lexists(sock))

    def test_testpmd_server_lending_survives_hostile_client(self):
        self.hostile_then_good_peer(',zero_copy=rx', 'server', [
            'peer_ring_damaged', 'peer_bad_tx_descriptor', 'peer_bad_posted_buffer',
            'rx_oversize_frames', 'rx_zero_copy_frames'])

    def test_testpmd_client_with_mbuf_chains_survives_hostile_server(self):
        self.hostile_then_good_peer(',role=client', 'client', [
            'peer_ring_damaged', 'peer_bad_tx_completion', 'peer_bad_rx_completion',
            'rx_oversize_frames'], testpmd_args=['--enable-scatter', '--mbuf-size=640'],
            seconds=HOSTILE_S / 2)

    def test_testpmd_client_lending_survives_hostile_server(self):
        self.hostile_then_good_peer(',role=client,zero_copy=rx', 'client', [
            'peer_ring_damaged', 'peer_bad_tx_completion', 'peer_bad_rx_completion',
            'rx_zero_copy_frames'], seconds=HOSTILE_S / 2)

    def test_zero_copy_tx_client_survives_hostile_server(self):
        """shmlink_zc_fwd on the ASan driver (client, zero_copy=yes, holding lent mbufs
        and freeing them at random) under the hostile server for half the time, then a
        good server whose every frame comes back intact, built where it was lent."""
        sock = self.ws.path('s')
        pjson = self.ws.path('peer.json')
        seconds = HOSTILE_S / 2
        vdev = 'net_shmlink0,socket=%s,role=client,zero_copy=yes' % sock
        app = self.ws.run('zc_fwd', asan_launcher() + [
            os.path.join(BUILD_DIR, 'test', 'system', 'shmlink_zc_fwd')] +
            sysh.eal_args(self.ws.prefix('zf'), [vdev], sysh.LCORES[0]) +
            ['--', '--until-signal', '--timeout', str(seconds + 120), '--hold', '64'],
            limit=seconds + 150)
        app.wait_for(r'^ZCFWD ready', 90)
        rep = self.run_hostile(app, sock, seconds, 'zc_fwd client')
        self.assertGreater(rep['attaches'], 2, rep)
        self.assertEqual(rep['as_server'], rep['attaches'], rep)
        self.assertGreater(rep['dropped_by_port'], 0, 'the port never dropped the peer')
        sysh.wait_until(lambda: sysh.count_maps(app.pid, 'memfd:shmlink') == 0, 15,
                        'the hostile peer\'s queue files unmapped (every lent mbuf freed)')
        peer = self.ws.run('peer', [PEER, '--socket', sock, '--mode', 'txonly', '--verify',
                                    '--duration', GOOD_S, '--cpus', sysh.CPUS[1],
                                    '--role', 'server', '--fail-on-errors', '--json', pjson],
                           limit=60, stdin=False)
        self.assertEqual(peer.wait(60), 0, 'shmlink-peer failed:\n' + peer.tail())
        with open(pjson) as f:
            t = json.load(f)['total']
        app.signal(signal.SIGTERM)
        self.assertEqual(app.wait(60), 0, app.tail())
        self.assert_no_sanitizer_report(app)
        x = dict((k, int(v)) for k, v in re.findall(r'^XSTAT 0 (\w+) (\d+)$', app.output,
                                                     re.M))
        sys.stderr.write('  good peer: %d frames verified; %s; %s\n' % (
            t['rx_verified'], app.wait_for(r'^ZCFWD rx=.*$', 5).group(0), x))
        self.assertGreater(t['rx_verified'], 1000, t)
        self.assertEqual((t['rx_verified'], t['rx_lost'], t['rx_corrupt'], t['rx_foreign'],
                          t['rx_reordered']), (t['rx_packets'], 0, 0, 0, 0), t)
        self.assertGreater(x['tx_zero_copy_frames'], t['rx_packets'] // 2, x)
        self.assertEqual(x['tx_zero_copy_lent_now'], 0, x)

    # The handshake never blocks the EAL interrupt thread: connections that stay silent
    # hold a handshake slot of their port until their time runs out, and meanwhile a
    # peer attaches to another port, and to the same port while a slot is free.
    def test_stalled_handshakes_do_not_block_attaches(self):
        a, b = self.ws.path('a'), self.ws.path('b')
        tp = AsanTestpmd(self.ws, 'testpmd', ['net_shmlink0,socket=' + a,
                                               'net_shmlink1,socket=' + b])
        tp.ready(90)
        tp.start()
        # Three connections to port 0 that never read the offer nor answer.
        stalled = []
        for _ in range(3):
            s = sysh.unix_seqpacket()
            s.connect(a)
            stalled.append(s)
        try:
            outs = []
            for name, path in (('peer1', b), ('peer0', a)):
                t0 = time.monotonic()
                p = self.ws.run(name, [PEER, '--socket', path, '--mode', 'txonly',
                                       '--duration', '0.5', '--cpus', sysh.CPUS[1],
                                       '--connect-timeout', '2'], limit=30, stdin=False)
                rc = p.wait(30)
                outs.append((name, rc, time.monotonic() - t0, p.output))
            # A fifth and a sixth connection: one takes the last slot, the other is
            # refused as busy, with a reason.
            extra = [sysh.unix_seqpacket() for _ in range(2)]
            for s in extra:
                s.connect(a)
            stalled += extra
            refused = tp.wait_for(r'too many handshakes in progress', 10)
            # The silent ones are given up on when their time runs out.
            tp.wait_for(r'attach failed: no answer in time', 15)
        finally:
            for s in stalled:
                s.close()
        for name, rc, secs, out in outs:
            sys.stderr.write('  %s: rc %d after %.1f s\n' % (name, rc, secs))
            self.assertEqual(rc, 0, '%s could not attach while 3 handshakes of port 0 '
                             'stalled:\n%s' % (name, out))
            # Well before the stalled handshakes time out (5 s).
            self.assertLess(secs, 4.5, name)
        self.assertTrue(refused)
        for port in (0, 1):
            xs = tp.xstats(port)
            # One attach each, which lasted: frames came through it.
            self.assertEqual(xs['peer_attach_count'], 1, 'port %d: %s' % (port, xs))
            self.assertGreater(xs['rx_good_packets'], 0, 'port %d: %s' % (port, xs))
        self.assertEqual(tp.quit(30), 0)
        self.assert_no_sanitizer_report(tp)

    # Finding 1 of README.md, fixed: a counter a departed peer drove to its limit (and
    # an eventfd it made blocking) must not reach the next peer: every signal of that
    # peer would fail with EAGAIN, and gVisor panics on a failed eventfd write (spec
    # section 5).
    def test_eventfd_left_at_its_limit_does_not_reach_the_next_peer(self):
        sock = self.ws.path('s')
        tp = AsanTestpmd(self.ws, 'testpmd', 'net_shmlink0,socket=%s' % sock, side=0,
                         fwd='io')
        tp.ready(90)
        tp.start()
        h = self.ws.run('poison', [HOSTILE, '--socket', sock, '--poison-eventfds'], limit=30,
                        stdin=False)
        self.assertEqual(h.wait(30), 0, h.tail())
        tp.wait_link('down', 15)
        p = self.ws.run('probe', [HOSTILE, '--socket', sock, '--probe-eventfds'], limit=30,
                        stdin=False)
        rc = p.wait(30)
        sys.stderr.write('  %s\n' % p.output.strip().replace('\n', '\n  '))
        self.assertTrue(tp.alive())
        self.assertEqual(tp.quit(30), 0)
        self.assert_no_sanitizer_report(tp)
        self.assertEqual(rc, 0, 'the next peer got an eventfd it cannot signal: its counter '
                         'was left by the peer before\n' + p.tail())


def main():
    global BUILD_DIR, SRC_DIR, HOSTILE, PEER, ASAN_DIR, LIBASAN
    if len(sys.argv) < 5:
        sys.stderr.write('usage: %s BUILD_DIR SRC_DIR HOSTILE_BIN PEER_BIN [unittest args]\n'
                         % sys.argv[0])
        sys.exit(2)
    BUILD_DIR, SRC_DIR, HOSTILE, PEER = (os.path.abspath(a) for a in sys.argv[1:5])
    ASAN_DIR = os.path.join(BUILD_DIR, 'test', 'hostile', 'asan')
    LIBASAN = subprocess.run(['gcc', '-print-file-name=libasan.so'], stdout=subprocess.PIPE,
                             check=True).stdout.decode().strip()
    if not os.path.exists(LIBASAN):
        sys.stderr.write('libasan not found (gcc -print-file-name=libasan.so)\n')
        sys.exit(1)
    driver = build_asan_driver()
    # shmlink_sys.main(): BUILD_DIR DRIVER [unittest args]; cleanup on SIGTERM.
    sys.argv[1:5] = [BUILD_DIR, driver]
    sysh.main()


if __name__ == '__main__':
    main()
