#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""A gVisor netstack (sharedmem.New, the sandbox's usual role) pings dpdk-testpmd
--forward-mode=icmpecho on a listening net_shmlink port in the server role: 1000 echoes,
none lost, with Ethernet framing and with the 10-byte virtio-net header; and with the
port's signals coalesced (signal_delay_us=, signal_batch=): the echo reply waits for its
deadline, flushed by testpmd's next poll, and a batch of one signals at once.

testpmd's icmpecho answers ARP and ICMPv4 echo only: it neither answers neighbour
solicitations nor ICMPv6 echoes, so IPv6 is tested between two gVisor stacks
(test_tcp.py, test_framing.py). The probe below reports whether that still holds."""

import gvharness as gv

ECHOES = 1000


class IcmpEchoTest(gv.GvTestCase):

    tag = 'icmpecho'

    def ping_testpmd(self, devargs, flags, what, echoes=ECHOES, suffix=''):
        sock = self.ws.path('s' + suffix)
        vdev = 'net_shmlink0,socket=%s,mac=02:00:00:77:00:01%s' % (sock, devargs)
        tp = self.ws.testpmd('testpmd' + suffix, [vdev], 'icmpecho').ready()
        tp.start()
        self.assertEqual(tp.link(), 'down', 'link up before any peer')
        p = self.ws.peer('gvisor' + suffix, sock, ['198.19.0.2/24', '2001:db8:77::2/64'],
                         ['ping', '-c', str(echoes), '198.19.0.1'],
                         flags=['-mac', '02:00:00:77:00:02'] + flags)
        out = p.finish(60)
        self.assertIn('as gVisor client', out)
        r = gv.parse_ping(out)
        self.assertEqual((r['sent'], r['received'], r['lost']), (echoes, echoes, 0), out)
        self.report('%s: %d echoes, RTT min/avg/median/max %.1f/%.1f/%.1f/%.1f us' % (
            what, echoes, r['min'], r['avg'], r['median'], r['max']))
        x = tp.xstats()
        self.assertEqual(gv.xstat_errors(x), {})
        self.assertEqual(x['peer_attach_count'], 1)
        self.rtt, self.signals = r, x['tx_peer_signals']
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

    def test_ping_coalesced_signals(self):
        # The stack sleeps while it waits for each reply: the reply's signal waits for
        # the 2 ms deadline, and comes from testpmd's rx poll of the same queue pair.
        tp, _ = self.ping_testpmd(',signal_delay_us=2000', [], 'signals delayed 2 ms', 200, 'd')
        self.assertGreaterEqual(self.rtt['median'], 2000, 'replies were not delayed')
        # About one signal per reply (and ARP's); fewer if the stack was still awake.
        self.report('signals delayed 2 ms: %d signals for 200 replies' % self.signals)
        self.assertGreaterEqual(self.signals, 100, 'the sleeping stack was not signalled')
        self.assertLessEqual(self.signals, 200 + 10)
        self.assertEqual(tp.quit(), 0)
        # A batch of one frame ends the delay at once.
        tp, _ = self.ping_testpmd(',signal_delay_us=5000,signal_batch=1', [],
                                  'signals delayed 5 ms, batches of 1', 200, 'b')
        self.assertLess(self.rtt['median'], 5000, 'a batch of 1 waited for the deadline')
        self.assertEqual(tp.quit(), 0)


if __name__ == '__main__':
    gv.main()
