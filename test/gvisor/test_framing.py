#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Framing variants between two gVisor netstacks through dpdk-testpmd io forwarding:
raw IP packets (framing=ip, gVisor endpoints without a LinkAddress) and the 10-byte
virtio-net header (virtio_hdr=yes, gVisor's VirtioNetHeaderRequired on the client). Each
carries 1000 IPv4 and 1000 IPv6 pings and 64 MiB of TCP each way. A stack configured
differently from the port is refused in the handshake."""

import gvharness as gv
from test_tcp import ECHOES, MIB, paired, run_b

BULK = 64 * MIB


class FramingTest(gv.GvTestCase):

    tag = 'framing'

    def two_stacks(self, devargs, flags, what):
        tp, sb, a = paired(self.ws, devargs, flags)
        rtt = []
        for dst in ('198.19.1.1', '2001:db8:77:1::1'):
            r = gv.parse_ping(run_b(self.ws, sb, ['ping', '-c', str(ECHOES), dst], flags))
            self.assertEqual((r['received'], r['lost']), (ECHOES, 0), dst)
            rtt.append(r['avg'])
        out = run_b(self.ws, sb, ['tcp-send', str(BULK), '198.19.1.1:5001'], flags)
        self.assertRegex(out, r'%d bytes sent, %d verified by the sink' % (BULK, BULK))
        _, up = gv.parse_rate(out, 'tcp-send')
        n, down = gv.parse_rate(run_b(self.ws, sb, ['tcp-recv', str(BULK),
                                                    '[2001:db8:77:1::1]:5002'], flags), 'tcp-recv')
        self.assertEqual(n, BULK)
        for port in (0, 1):
            self.assertEqual(gv.xstat_errors(tp.xstats(port)), {}, 'port %d' % port)
        self.report('%s: ping RTT avg IPv4 %.1f us, IPv6 %.1f us; TCP 64 MiB %.0f / %.0f '
                    'Mbit/s' % (what, rtt[0], rtt[1], up, down))
        return tp, sb

    def test_raw_ip(self):
        tp, sb = self.two_stacks(',framing=ip', ['-framing', 'ip'], 'raw IP')
        # An Ethernet stack on a raw IP port: refused in the handshake (reason 6, config).
        mark = tp.mark()
        out = run_b(self.ws, sb, ['ping', '-c', '1', '198.19.1.1'], rc=2)
        self.assertRegex(out, r'refused the offer on .*: offered flags 0x1')
        self.report('testpmd: ' + tp.wait_for(r'attach failed: .*', 10, mark).group(0))
        self.assertEqual(tp.quit(), 0)

    def test_virtio_header(self):
        tp, sb = self.two_stacks(',virtio_hdr=yes', ['-virtio'], 'virtio-net header')
        out = run_b(self.ws, sb, ['ping', '-c', '1', '198.19.1.1'], rc=2)
        self.assertRegex(out, r'refused the offer on .*: offered flags 0x2')
        self.assertEqual(tp.quit(), 0)

    def test_listening_stack_refused(self):
        # The other way round: the port connects to a raw IP stack and refuses its offer.
        sock = self.ws.path('s')
        p = self.ws.peer('gvisor', sock, ['198.19.6.1/24'], ['serve'],
                         flags=['-listen', '-framing', 'ip'])
        tp = self.ws.testpmd('testpmd', ['net_shmlink0,socket=%s,listen=no' % sock],
                             'icmpecho').ready()
        out = p.finish(30, rc=2)
        self.assertRegex(out, r'the peer rejected the offer: reason 6 ')
        self.assertEqual(tp.link(), 'down')
        self.assertEqual(tp.quit(), 0)


if __name__ == '__main__':
    gv.main()
