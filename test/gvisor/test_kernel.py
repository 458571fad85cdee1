#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""A sandbox on a real network: a gVisor netstack on a net_shmlink port, dpdk-testpmd
forwarding (paired ports) between it and a net_tap port, and the Linux kernel behind the
tap, in a network namespace the test makes and deletes. The kernel's own programs are the
sandbox's peers: python3 -m http.server, curl, ping, tcpdump. Addresses come from the
benchmarking ranges only (198.18.0.0/15, 2001:2::/48); nothing leaves the machine.

  - MTU 1500: the sandbox fetches 64 MiB over HTTP from the kernel's server (IPv4 and
    IPv6, hash checked); the kernel pings the sandbox and fetches 64 MiB from an HTTP
    server in the sandbox.
  - MTU 9000 on both ends: pings with DF at the full size both families, HTTP both
    ways with jumbo frames (skipped where net_tap takes no jumbo frames: DPDK 22.11).
  - A path MTU mismatch: the tap's namespace routes to a second namespace over a veth
    whose near end has MTU 1280; the far host's curl asks the sandbox for 1460-byte
    segments, which come back as ICMP "fragmentation needed" / ICMPv6 "packet too big";
    gVisor obeys them and the transfers complete.
  - Checksum offloads on the gVisor side (the stack leaves the checksums it sends
    unfilled): the kernel gets valid checksums when testpmd enables no Rx offload (the
    port fills them), and when it enables them and forwards with the csum engine (the
    tap fills them); in io mode with the Rx offloads enabled they reach the kernel
    unfilled, as DPDK's RTE_MBUF_F_RX_L4_CKSUM_NONE says, and the kernel drops them.

Every namespace is deleted and every process killed at the end of its test, also when a
step fails; namespaces left by a killed run (shk<pid>-*, pid gone) are swept first."""

import glob
import hashlib
import os
import re
import signal
import subprocess
import sys
import time

import gvharness as gv
import shmlink_sys as sysh

MIB = 1 << 20
BLOB = 64 * MIB
TAP = 'shtap0'
SANDBOX_MAC, TAP_MAC = '02:00:c6:12:00:02', '02:00:c6:12:00:01'
# The tap's side and the sandbox's, IPv4 and IPv6.
K4, S4 = '198.18.0.1', '198.18.0.2'
K6, S6 = '2001:2::1', '2001:2::2'
# Beyond the router (the path MTU case).
F4, F6 = '198.18.1.2', '2001:2:0:1::2'
HTTP_K, HTTP_S = 8000, 8080


def run(argv, timeout=30, check=True):
    """Run a short command; its output, or a failure that shows it."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError('%s: exit %d:\n%s' % (' '.join(argv), p.returncode,
                                                   p.stdout.decode(errors='replace')[-2000:]))
    return p.stdout.decode(errors='replace')


def sweep_netns():
    """Delete the namespaces of earlier runs of this test that died before cleaning up."""
    for path in glob.glob('/run/netns/shk*-*'):
        m = re.match(r'shk(\d+)-', os.path.basename(path))
        if m and not os.path.exists('/proc/%s' % m.group(1)):
            run(['ip', 'netns', 'del', os.path.basename(path)], check=False)


class Netns:
    """A network namespace of one test, deleted when the test ends (addCleanup)."""

    count = 0

    def __init__(self, test, role):
        Netns.count += 1
        self.name = 'shk%d-%d%s' % (os.getpid(), Netns.count, role)
        run(['ip', 'netns', 'add', self.name])
        test.addCleanup(run, ['ip', 'netns', 'del', self.name], check=False)
        self.ip('link', 'set', 'lo', 'up')

    def exec(self, *argv):
        return ['ip', 'netns', 'exec', self.name] + list(argv)

    def ip(self, *args):
        return run(['ip', '-n', self.name] + list(args))

    def sh(self, *argv, timeout=30, check=True):
        return run(self.exec(*argv), timeout, check)

    def addr(self, dev, *addrs, mtu=None):
        """Addresses on @dev (IPv6 without duplicate address detection), MTU, up."""
        for a in addrs:
            self.ip('addr', 'add', a, 'dev', dev, *(('nodad',) if ':' in a else ()))
        if mtu:
            self.ip('link', 'set', dev, 'mtu', str(mtu))
        self.ip('link', 'set', dev, 'up')


def ipv4_fragments(ns):
    """The IPv4 fragments namespace @ns has made (FragCreates of /proc/net/snmp)."""
    ip = [line.split() for line in ns.sh('cat', '/proc/net/snmp').splitlines()
          if line.startswith('Ip:')]
    return int(dict(zip(ip[0], ip[1]))['FragCreates'])


def sha256_of(data):
    return hashlib.sha256(data).hexdigest()


def pattern_sha256(n):
    """The hash of the first @n bytes of the gVisor peer's test pattern."""
    out = subprocess.run([gv.PEER, 'pattern', str(n)], stdout=subprocess.PIPE,
                         check=True, timeout=30).stdout
    assert len(out) == n, 'pattern %d gave %d bytes' % (n, len(out))
    return sha256_of(out)


def parse_http_get(out):
    m = re.search(r'^http-get: (\d+) bytes in ([\d.]+) s, ([\d.]+) Gbit/s, sha256 (\w+)$',
                  out, re.M)
    if m is None:
        raise AssertionError('no http-get line in:\n' + out[-2000:])
    return int(m.group(1)), float(m.group(3)), m.group(4)


def url(host, port, path):
    return 'http://%s:%d/%s' % ('[%s]' % host if ':' in host else host, port, path)


class KernelTest(gv.GvTestCase):

    tag = 'kernel'

    def setUp(self):
        sweep_netns()

    # ---- the pieces ----

    def start_testpmd(self, ns, mtu=1500, fwd='io', args=()):
        """testpmd in @ns: port 0 net_shmlink (listening on a socket), port 1 net_tap
        (TAP, in @ns), paired, at the prompt. Returns (testpmd, socket).

        Above MTU 1500, frames span mbufs (--enable-scatter) and testpmd sets every
        port's MTU (not the tap's kernel side: the caller does). net_tap of DPDK 22.11 takes frames up to
        1522 bytes only (24.11 and later 9728): there the test is skipped."""
        sock = self.ws.path('port%d.sock' % Netns.count)
        shm = 'net_shmlink0,socket=%s' % sock
        app = ['--port-topology=paired'] + list(args)
        if mtu > 1500:
            shm += ',mtu=%d' % mtu
            app += ['--enable-scatter', '--max-pkt-len=%d' % (mtu + 18)]
        tp = sysh.Testpmd(self.ws, 'testpmd', [shm, 'net_tap0,iface=%s,mac=%s' % (TAP, TAP_MAC)],
                          fwd=fwd, args=app, launcher=ns.exec(*sysh.testpmd_launcher())).ready()
        m = re.search(r'Frame size \(\d+\) > device max frame size \((\d+)\) for port_id 1',
                      tp.output)
        if m:
            tp.quit()
            self.skipTest('net_tap of this DPDK takes frames up to %s bytes' % m.group(1))
        return tp, sock

    def sandbox(self, sock, cmd, mtu=1500, flags=(), gw=False, limit=90):
        """A gVisor stack on port 0 running @cmd, with the sandbox's fixed MAC (the
        kernel's neighbour entries stay right from one stack to the next)."""
        f = ['-mac', SANDBOX_MAC, '-mtu', str(mtu)] + list(flags)
        if gw:
            f += ['-gw', K4, '-gw', K6]
        return self.ws.peer('sandbox-' + cmd[0], sock, ('%s/24' % S4, '%s/64' % S6), cmd,
                            flags=f, limit=limit).attached()

    def serve(self, sock, **kw):
        s = self.sandbox(sock, ['serve', '-http', str(HTTP_S)], **kw)
        s.wait_for(r'^serve: answering pings', 15)
        return s

    def http_server(self, ns):
        """python3 -m http.server in @ns on both families, serving a random blob."""
        d = self.ws.path('www')
        os.makedirs(d, exist_ok=True)
        blob = os.urandom(BLOB)
        with open(os.path.join(d, 'blob'), 'wb') as f:
            f.write(blob)
        srv = self.ws.run('http.server', ns.exec('python3', '-u', '-m', 'http.server',
                                                 '--bind', '::', '--directory', d,
                                                 str(HTTP_K)), limit=240, stdin=False)
        srv.wait_for(r'Serving HTTP on', 15)
        return sha256_of(blob)

    def sandbox_fetches(self, sock, host, want, **kw):
        """The sandbox's HTTP fetch of the kernel's blob; returns Gbit/s."""
        out = self.sandbox(sock, ['http-get', '-n', str(BLOB), '-sha256', want,
                                  url(host, HTTP_K, 'blob')], **kw).finish(90)
        n, rate, got = parse_http_get(out)
        self.assertEqual((n, got), (BLOB, want))
        return rate

    def kernel_fetches(self, ns, host, n=BLOB):
        """curl in @ns fetches @n bytes of the pattern from the sandbox's server; returns
        Gbit/s."""
        t0 = time.monotonic()
        p = subprocess.run(ns.exec('curl', '-sS', '--max-time', '60', '-o', '-',
                                   url(host, HTTP_S, 'pattern/%d' % n)),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=90)
        dt = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors='replace'))
        self.assertEqual((len(p.stdout), sha256_of(p.stdout)), (n, pattern_sha256(n)))
        return n * 8 / dt / 1e9

    def kernel_pings(self, ns, mtu=None, count=5):
        """Pings from @ns to the sandbox, none lost; with @mtu, each packet that large
        and not to be fragmented."""
        for host, ip_hdr in ((S4, 20), (S6, 40)):
            size = mtu - ip_hdr - 8 if mtu else 56
            out = ns.sh('ping', '-c', str(count), '-i', '0.2', '-W', '2', '-M', 'do',
                        '-s', str(size), host)
            self.assertRegex(out, r'%d packets transmitted, %d received' % (count, count))

    def clean_ports(self, tp):
        x = tp.xstats(0)
        self.assertEqual(gv.xstat_errors(x), {})
        for port in (0, 1):
            s = tp.port_stats(port)
            self.assertEqual((s['rx_errors'], s['tx_errors'], s['rx_nombuf']), (0, 0, 0),
                             'port %d: %s' % (port, s))
        return x

    def finish(self, tp):
        """Stop forwarding, report what testpmd dropped (a full ring: the stacks'
        TCP recovers), quit."""
        st = tp.stop()
        self.report('testpmd forwarded %d frames, dropped %d' % (st['tx'], st['tx_dropped']))
        self.assertEqual(tp.quit(), 0)

    def tcpdump(self, ns, name, args):
        """tcpdump on the tap into a file, whole frames (it checks no checksum of a
        frame it cut); returns (process, file) once it listens."""
        f = self.ws.path(name + '.pcap')
        p = self.ws.run('tcpdump-' + name, ns.exec('tcpdump', '-i', TAP, '-n', '-U',
                                                   '-w', f) + list(args),
                        limit=240, stdin=False)
        p.wait_for(r'listening on', 15)
        return p, f

    def dumped(self, ns, proc, f, args=('-vv',)):
        """What tcpdump captured, as text. SIGTERM, not SIGKILL: it ends its file
        cleanly (a record cut in two would fail the reading)."""
        time.sleep(0.5)
        proc.signal(signal.SIGTERM)
        proc.wait(15)
        return ns.sh('tcpdump', '-r', f, '-n', *args, timeout=60)

    # ---- the tests ----

    def test_mtu_1500_http_both_ways_and_ping(self):
        k = Netns(self, 'k')
        tp, sock = self.start_testpmd(k)
        tp.start()
        k.addr(TAP, K4 + '/24', K6 + '/64')
        want = self.http_server(k)

        self.serve(sock)
        tp.wait_link('up', 10, 0)
        self.kernel_pings(k)
        up = [self.kernel_fetches(k, h) for h in (S4, S6)]
        self.ws.close([p for p in self.ws.procs if p.name.startswith('sandbox-')])
        down = [self.sandbox_fetches(sock, h, want) for h in (K4, K6)]
        self.clean_ports(tp)
        self.report('MTU 1500, 64 MiB over HTTP: kernel from sandbox %.2f/%.2f Gbit/s, '
                    'sandbox from kernel %.2f/%.2f Gbit/s (IPv4/IPv6)' % tuple(up + down))
        self.finish(tp)

    def test_mtu_9000(self):
        k = Netns(self, 'j')
        tp, sock = self.start_testpmd(k, mtu=9000)
        tp.start()
        # testpmd's MTU reaches the tap's DPDK side only: the kernel's is set here.
        k.addr(TAP, K4 + '/24', K6 + '/64', mtu=9000)
        want = self.http_server(k)
        self.serve(sock, mtu=9000)
        tp.wait_link('up', 10, 0)
        self.kernel_pings(k, mtu=9000)
        before = tp.port_stats(0)
        up = self.kernel_fetches(k, S4)
        after = tp.port_stats(0)
        frame = (after['rx_bytes'] - before['rx_bytes']) / (after['rx'] - before['rx'])
        self.assertGreater(frame, 4000, 'the sandbox sent no jumbo frames')
        self.ws.close([p for p in self.ws.procs if p.name.startswith('sandbox-')])
        before = tp.port_stats(0)
        down = self.sandbox_fetches(sock, K6, want, mtu=9000)
        after = tp.port_stats(0)
        frame_in = (after['tx_bytes'] - before['tx_bytes']) / (after['tx'] - before['tx'])
        self.assertGreater(frame_in, 4000, 'the kernel sent no jumbo frames')
        self.clean_ports(tp)
        self.report('MTU 9000, 64 MiB over HTTP: kernel from sandbox %.2f Gbit/s (IPv4, '
                    'frames of %.0f bytes on average), sandbox from kernel %.2f Gbit/s (IPv6, '
                    '%.0f)' % (up, frame, down, frame_in))
        self.finish(tp)

    def test_path_mtu(self):
        r, f = Netns(self, 'r'), Netns(self, 'f')
        tp, sock = self.start_testpmd(r)
        tp.start()
        r.addr(TAP, K4 + '/24', K6 + '/64')
        # The router's side of the veth has MTU 1280, the far side 1500: the far host
        # asks for 1460-byte segments that the router cannot forward.
        r.ip('link', 'add', 'shv0', 'type', 'veth', 'peer', 'name', 'shv1', 'netns', f.name)
        r.addr('shv0', '198.18.1.1/24', '2001:2:0:1::1/64', mtu=1280)
        f.addr('shv1', F4 + '/24', F6 + '/64')
        f.ip('route', 'add', 'default', 'via', '198.18.1.1')
        f.ip('-6', 'route', 'add', 'default', 'via', '2001:2:0:1::1')
        r.sh('sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1')
        self.serve(sock, gw=True)
        tp.wait_link('up', 10, 0)
        dump, pcap = self.tcpdump(r, 'icmp', ['-Q', 'out', 'icmp or icmp6'])
        rates = [self.kernel_fetches(f, host, 16 * MIB) for host in (S4, S6)]
        text = self.dumped(r, dump, pcap)
        self.assertRegex(text, r'> %s: .*ICMP6, packet too big, mtu 1280' % re.escape(S6))
        # IPv4: gVisor 2024 sets DF and gets "fragmentation needed"; gVisor 2022 has no
        # IPv4 path MTU discovery (no DF), so the router fragments instead.
        frag_needed = re.search(r'> %s: ICMP %s unreachable - need to frag \(mtu 1280\)'
                                % (re.escape(S4), re.escape(F4)), text)
        fragmented = ipv4_fragments(r)
        self.assertTrue(frag_needed or fragmented > 1000, (fragmented, text[-3000:]))
        self.clean_ports(tp)
        self.report('path MTU 1280 behind a router: 16 MiB over HTTP, the far host from the '
                    'sandbox %.2f/%.2f Gbit/s (IPv4/IPv6); IPv4: %s' % (
                        rates[0], rates[1], 'ICMP fragmentation needed' if frag_needed else
                        'no DF, the router made %d fragments' % fragmented))
        self.finish(tp)

    def checksum_case(self, fwd, args, valid):
        """The sandbox leaves the checksums it sends unfilled; the kernel fetches from
        it. @valid: whether the kernel must get valid checksums (and the transfer
        work) or, as DPDK's RTE_MBUF_F_RX_L4_CKSUM_NONE says, the frames as they
        came."""
        k = Netns(self, 'c')
        tp, sock = self.start_testpmd(k, fwd=fwd, args=args)
        if fwd == 'csum':
            # The tap fills the TCP checksums the sandbox left unfilled.
            tp.cmd('port stop 1', timeout=20)
            for line in ('csum set ip sw 1', 'csum set tcp hw 1', 'csum set udp hw 1'):
                out = tp.cmd(line)
                self.assertNotRegex(out, r'(?i)not supported|invalid|bad', out)
            tp.cmd('port start 1', timeout=20)
        tp.start()
        k.addr(TAP, K4 + '/24', K6 + '/64')
        s = self.serve(sock, flags=['-tx-csum-offload', '-rx-csum-offload', '-stats', '1s'])
        self.assertRegex(s.output, r'TXChecksumOffload true, RXChecksumOffload true')
        # The first 2000 frames are enough to judge. (A stall here was the sandbox
        # running out of TX buffers, its stats' send-errors: the queues must hold its
        # whole TCP window, see the integration guide.)
        dump, pcap = self.tcpdump(k, 'cksum', ['-c', '2000', '-Q', 'in', 'tcp'])
        if valid:
            try:
                self.kernel_fetches(k, S4, 16 * MIB)
            except AssertionError:
                # What the kernel got, for the log: bad checksums, or a stall?
                text = self.dumped(k, dump, pcap)
                sys.stderr.write('kernel got %d bad and %d good TCP checksums; port 0: '
                                 '%s\n' % (len(re.findall(r'\(incorrect', text)),
                                            len(re.findall(r'\(correct\)', text)),
                                            tp.xstats(0)))
                raise
        else:
            p = subprocess.run(k.exec('curl', '-sS', '--max-time', '3', '-o', '/dev/null',
                                      url(S4, HTTP_S, 'pattern/1M')),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
            self.assertNotEqual(p.returncode, 0, 'a connection with bad checksums')
        text = self.dumped(k, dump, pcap)
        bad = len(re.findall(r'\(incorrect', text))
        good = len(re.findall(r'cksum 0x[0-9a-f]+ \(correct\)', text))
        if valid:
            self.assertEqual(bad, 0, text[:3000])
            self.assertGreater(good, 500)
        else:
            self.assertGreater(bad, 0, text[:3000])
        # The port fills them unless the application enabled the Rx offloads.
        filled = tp.xstats(0)['rx_cksum_filled_frames']
        if args:
            self.assertEqual(filled, 0)
        else:
            self.assertGreater(filled, 1000)
        self.report('checksum offloads, testpmd %s %s: %d valid, %d bad TCP checksums at '
                    'the kernel' % (fwd, ' '.join(args), good, bad))
        self.finish(tp)

    def test_checksum_offload_io(self):
        self.checksum_case('io', (), True)

    def test_checksum_offload_rx_offloads_csum_engine(self):
        # The csum engine rewrites the MAC addresses, as a router would: to the
        # sandbox's, and to the kernel's side of the tap (which has the port's).
        self.checksum_case('csum', ('--enable-rx-cksum', '--eth-peer=0,' + SANDBOX_MAC,
                                    '--eth-peer=1,' + TAP_MAC), True)

    def test_checksum_offload_rx_offloads_io(self):
        self.checksum_case('io', ('--enable-rx-cksum',), False)


if __name__ == '__main__':
    gv.main()
