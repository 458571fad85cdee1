#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""A gVisor netstack (sharedmem.New, the sandbox's usual role) pings dpdk-testpmd
--forward-mode=icmpecho on a listening net_shmlink port in the server role: 1000 echoes,
none lost, with Ethernet framing and with the 10-byte virtio-net header.

testpmd's icmpecho answers ARP and ICMPv4 echo only: it neither answers neighbour
solicitations nor ICMPv6 echoes, so IPv6 is tested between two gVisor stacks
(test_tcp.py, test_framing.py). The probe below reports whether that still holds."""

import gvharness as gv

ECHOES = 1000


class IcmpEchoTest(gv.GvTestCase):

    tag = 'icmpecho'

    def ping_testpmd(self, devargs, flags, what):
        sock = self.ws.path('s')
        tp = self.ws.testpmd('testpmd', ['net_shmlink0,socket=%s,mac=02:00:00:77:00:01%s'
                                         % (sock, devargs)], 'icmpecho').ready()
        tp.start()
        self.assertEqual(tp.link(), 'down', 'link up before any peer')
        p = self.ws.peer('gvisor', sock, ['198.19.0.2/24', '2001:db8:77::2/64'],
                         ['ping', '-c', str(ECHOES), '198.19.0.1'],
                         flags=['-mac', '02:00:00:77:00:02'] + flags)
        out = p.finish(60)
        self.assertIn('as gVisor client', out)
        r = gv.parse_ping(out)
        self.assertEqual((r['sent'], r['received'], r['lost']), (ECHOES, ECHOES, 0), out)
        self.report('%s: %d echoes, RTT min/avg/median/max %.1f/%.1f/%.1f/%.1f us' % (
            what, ECHOES, r['min'], r['avg'], r['median'], r['max']))
        x = tp.xstats()
        self.assertEqual(gv.xstat_errors(x), {})
        self.assertEqual(x['peer_attach_count'], 1)
        return tp, sock

    def test_ping_ethernet(self):
        tp, sock = self.ping_testpmd('', [], 'Ethernet')
        # Not an assertion: icmpecho has no IPv6 (checked with DPDK 22.11).
        p = self.ws.peer('gvisor6', sock, ['2001:db8:77::2/64'],
                         ['ping', '-c', '3', '-W', '200ms', '2001:db8:77::1'])
        self.assertIn(p.wait(30), (0, 1))  # 1: echoes lost
        r = gv.parse_ping(p.output)
        self.report('ICMPv6 to testpmd icmpecho: %d of 3 answered' % r['received'])
        self.assertEqual(tp.quit(), 0)

    def test_ping_virtio_header(self):
        tp, _ = self.ping_testpmd(',virtio_hdr=yes', ['-virtio'], 'virtio-net header')
        self.assertEqual(tp.quit(), 0)


if __name__ == '__main__':
    gv.main()
