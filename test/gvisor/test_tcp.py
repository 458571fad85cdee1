#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Two gVisor netstacks (both sharedmem.New clients) on two net_shmlink ports of one
dpdk-testpmd in io forwarding with --port-topology=paired: 1000 IPv6 and 1000 IPv4 pings
and 1000 UDP echoes, none lost, then 256 MiB of TCP each way (B to A over IPv4, A to B
over IPv6), every byte checked against the pattern.

Queues are sized for a TCP window as the integration guide says (8 MiB data regions,
256 KiB pipes), which are a listening port's defaults: the ports here take them without
devargs, so the test also proves the defaults. gVisor's endpoint has no back-pressure,
so with gVisor's 1 MiB default a full window can find no buffer posted, and gVisor's TCP
then stalls for seconds on the drops (about one transfer in four timed out here with
those sizes). A listening gVisor stack is given the sizes by flags.

The second test runs at MTU 9000, where every full-sized frame spans five 2048-byte
buffers and five mbufs (testpmd --enable-scatter), with stack A listening on its socket
(gvlink.Listen creates the queue files) and port 0 connecting to it. Both ports evict
the jumbo frames they receive from the CPU caches (rx_evict=4096, as the integration
guide suggests for jumbo frames), in both roles."""

import gvharness as gv

MIB = 1 << 20
BULK = 256 * MIB
ECHOES = 1000
# A listening port's defaults; a listening gVisor stack needs them as flags.
DATA_SIZE, PIPE_SIZE = gv.sysh.LISTEN_DATA_SIZE, gv.sysh.LISTEN_PIPE_SIZE
QUEUES = ''
QUEUE_FLAGS = ['-data-size', str(DATA_SIZE), '-pipe-size', str(PIPE_SIZE)]


def paired(ws, devargs='', flags=(), addrs_a=('198.19.1.1/24', '2001:db8:77:1::1/64')):
    """testpmd with two ports in paired io forwarding and stack A serving on port 0.
    Returns (testpmd, socket of port 1, A)."""
    sa, sb = ws.path('a'), ws.path('b')
    tp = ws.testpmd('testpmd', ['net_shmlink0,socket=%s%s%s' % (sa, QUEUES, devargs),
                                'net_shmlink1,socket=%s%s%s' % (sb, QUEUES, devargs)],
                    'io', ['--port-topology=paired']).ready()
    tp.start()
    a = ws.peer('stack-a', sa, addrs_a, ['serve'], flags=list(flags), limit=120)
    a.wait_for(r'^serve: answering pings', 15)
    tp.wait_link('up', 0)
    return tp, sb, a


def run_b(ws, sock, cmd, flags=(), rc=0, timeout=60, addrs=('198.19.1.2/24', '2001:db8:77:1::2/64')):
    """Stack B on port 1 runs one command; returns its output."""
    b = ws.peer('stack-b-' + cmd[0], sock, addrs, cmd, flags=list(flags), limit=timeout)
    return b.finish(timeout, rc)


class TcpTest(gv.GvTestCase):

    tag = 'tcp'

    def test_two_stacks_through_testpmd_io(self):
        tp, sb, a = paired(self.ws)
        for dst in ('2001:db8:77:1::1', '198.19.1.1'):
            r = gv.parse_ping(run_b(self.ws, sb, ['ping', '-c', str(ECHOES), dst]))
            self.assertEqual((r['received'], r['lost']), (ECHOES, 0))
            self.report('ping %s through testpmd: RTT min/avg/median/max %.1f/%.1f/%.1f/%.1f us' % (
                dst, r['min'], r['avg'], r['median'], r['max']))
        out = run_b(self.ws, sb, ['udp-echo', '-c', str(ECHOES), '198.19.1.1:5001'])
        self.assertRegex(out, r'%d sent, %d echoed intact, 0 lost' % (ECHOES, ECHOES))

        out = run_b(self.ws, sb, ['tcp-send', str(BULK), '198.19.1.1:5001'])
        n, rate = gv.parse_rate(out, 'tcp-send')
        self.assertRegex(out, r'%d bytes sent, %d verified by the sink' % (BULK, BULK))
        m = a.wait_for(r'^tcp-sink: (\d+) bytes from .*, (verified|FAILED.*)$', 30)
        self.assertEqual((int(m.group(1)), m.group(2)), (BULK, 'verified'))
        self.report('TCP B->A (IPv4) 256 MiB: %.0f Mbit/s' % rate)

        out = run_b(self.ws, sb, ['tcp-recv', str(BULK), '[2001:db8:77:1::1]:5002'])
        n, rate = gv.parse_rate(out, 'tcp-recv')
        self.assertEqual(n, BULK)
        self.report('TCP A->B (IPv6) 256 MiB: %.0f Mbit/s' % rate)

        for port in (0, 1):
            x = tp.xstats(port)
            self.assertEqual(gv.xstat_errors(x), {}, 'port %d' % port)
            self.assertEqual(x['rx_evicted_frames'], 0, 'port %d: rx_evict is off' % port)
        self.assertEqual(tp.xstats(1)['peer_attach_count'], 5)
        # The stack notices the port going away.
        tp.stop()
        mark = a.mark()
        self.assertEqual(tp.quit(), 0)
        a.wait_for(r'link down: the peer closed the control socket', 10, mark)
        self.assertEqual(a.wait(10), 3)

    def test_tcp_sink_command(self):
        # tcp-sink on its own (A), after A's first incarnation was replaced; checks both
        # ports' counters after all the traffic of several peers. The ports make their
        # queue files in /dev/shm (queue_files=, gVisor's own default place): gVisor
        # maps unlinked tmpfs files as it maps memfds.
        tp, sb, a = paired(self.ws, ',queue_files=/dev/shm')
        a.kill()
        tp.wait_link('down', 0)
        a2 = self.ws.peer('stack-a2', self.ws.path('a'), ['198.19.1.1/24'],
                          ['tcp-sink', '-port', '6000', '-n', '1'])
        a2.wait_for(r'^tcp-sink: listening on TCP port 6000', 15)
        out = run_b(self.ws, sb, ['tcp-send', str(16 * MIB), '198.19.1.1:6000'])
        self.assertRegex(out, r'%d bytes sent, %d verified by the sink' % (16 * MIB, 16 * MIB))
        self.assertRegex(a2.finish(10), r'tcp-sink: %d bytes from 198\.19\.1\.2:\d+ .*verified'
                         % (16 * MIB))
        for port in (0, 1):
            x = tp.xstats(port)
            self.assertEqual(gv.xstat_errors(x), {}, 'port %d' % port)
            self.assertEqual(x['peer_attach_count'], 2 if port == 0 else 1)
        self.assertEqual(tp.quit(), 0)

    def test_jumbo_frames_gvisor_listening(self):
        sa, sb = self.ws.path('a'), self.ws.path('b')
        jumbo = ['-mtu', '9000']
        a = self.ws.peer('stack-a', sa, ['198.19.5.1/24', '2001:db8:77:5::1/64'], ['serve'],
                         flags=['-listen'] + jumbo + QUEUE_FLAGS, limit=120)
        tp = self.ws.testpmd('testpmd', ['net_shmlink0,socket=%s,listen=no,mtu=9000,'
                                         'rx_evict=4096' % sa,
                                         'net_shmlink1,socket=%s,mtu=9000,rx_evict=4096%s'
                                         % (sb, QUEUES)],
                             'io',
                             ['--port-topology=paired', '--enable-scatter',
                              '--max-pkt-len=9022']).ready()
        tp.start()
        a.wait_for(r'^serve: answering pings', 15)
        self.assertRegex(a.output, r'as gVisor client .*MTU 9000.*peer MTU 9000')
        tp.wait_link('up', 0)
        addrs = ('198.19.5.2/24', '2001:db8:77:5::2/64')
        for dst in ('198.19.5.1', '2001:db8:77:5::1'):
            r = gv.parse_ping(run_b(self.ws, sb, ['ping', '-c', '100', '-s', '8900', dst],
                                    jumbo, addrs=addrs))
            self.assertEqual((r['received'], r['lost']), (100, 0))
        out = run_b(self.ws, sb, ['tcp-send', str(BULK), '198.19.5.1:5001'], jumbo, addrs=addrs)
        self.assertRegex(out, r'%d bytes sent, %d verified by the sink' % (BULK, BULK))
        _, up = gv.parse_rate(out, 'tcp-send')
        n, down = gv.parse_rate(run_b(self.ws, sb, ['tcp-recv', str(BULK), '[2001:db8:77:5::1]:5002'],
                                      jumbo, addrs=addrs), 'tcp-recv')
        self.assertEqual(n, BULK)
        st = tp.stats(1)
        self.assertGreater(st['rx_bytes'] / st['rx'], 4096, 'few multi-buffer frames: %s' % st)
        for port in (0, 1):
            x = tp.xstats(port)
            self.assertEqual(gv.xstat_errors(x), {}, 'port %d' % port)
            # Each port received 256 MiB in frames of 8 KiB and more, and evicted them
            # (none of the ACKs, under 4096 bytes).
            self.assertGreater(x['rx_evicted_frames'], BULK // 9000, 'port %d' % port)
            self.assertLess(x['rx_evicted_frames'], tp.stats(port)['rx'], 'port %d' % port)
        self.report('MTU 9000, TCP 256 MiB: B->A %.0f Mbit/s, A->B %.0f Mbit/s' % (up, down))
        self.assertEqual(tp.quit(), 0)
        self.assertEqual(a.wait(10), 3)


if __name__ == '__main__':
    gv.main()
