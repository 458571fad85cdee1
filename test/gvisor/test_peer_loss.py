#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""The gVisor peer killed: dpdk-testpmd (icmpecho, listening port) sees its link go down
with an LSC event when the stack's process is killed with SIGKILL, idle or in the middle
of a ping flood; a restarted stack attaches (link up, LSC) and its pings are answered
again. Nothing counts as a protocol violation.

testpmd stalled (SIGSTOP) longer than a sandbox waits for the port's offer (5 s), as a
loaded machine can stall it: the gVisor stack sees its handshake time out, tries again,
and attaches once testpmd runs again; its pings are answered."""

import os
import signal

import gvharness as gv

ADDRS = ['198.19.4.2/24']
LSC = gv.LSC % 0


class PeerLossTest(gv.GvTestCase):

    tag = 'peer-loss'

    def test_killed_and_restarted(self):
        sock = self.ws.path('s')
        tp = self.ws.testpmd('testpmd', ['net_shmlink0,socket=%s' % sock], 'icmpecho').ready()
        tp.start()
        attaches = 0
        # Cycle 1 kills an idle stack, cycle 2 one that is flooding pings.
        for cycle, cmd in ((1, ['serve']), (2, ['ping', '-c', '100000000', '198.19.4.1'])):
            mark = tp.mark()
            p = self.ws.peer('gvisor%d' % cycle, sock, ADDRS, cmd).attached()
            attaches += 1
            tp.wait_for(r'attached; we are the server', 10, mark)
            tp.wait_for(LSC, 10, mark)
            self.assertEqual(tp.link(), 'up', 'cycle %d: link down with a peer' % cycle)
            if cycle == 2:
                r0 = tp.stats()['rx']
                gv.wait_until(lambda: tp.stats()['rx'] - r0 >= 1000, 10,
                              'echoes to flow', 0.1)
            mark = tp.mark()
            os.kill(p.pid, signal.SIGKILL)
            self.assertIn(p.wait(10), (-signal.SIGKILL, 128 + signal.SIGKILL))
            tp.wait_for(r'detached: control socket closed', 10, mark)
            tp.wait_for(LSC, 10, mark)
            self.assertEqual(tp.link(), 'down', 'cycle %d: link up after the kill' % cycle)

            # Restarted: attaches and is answered.
            mark = tp.mark()
            p = self.ws.peer('gvisor%d-again' % cycle, sock, ADDRS,
                             ['ping', '-c', '100', '198.19.4.1'])
            attaches += 1
            r = gv.parse_ping(p.finish(30))
            self.assertEqual(r['lost'], 0)
            tp.wait_for(LSC, 10, mark)          # up ...
            tp.wait_for(r'detached', 10, mark)  # ... and down again as ping exits
            # testpmd prints the LSC line from its event callback, after the driver's
            # "detached" line: wait for it, or the next cycle's wait takes it for "up".
            gv.wait_until(lambda: tp.count(LSC) >= 2 * attaches, 10, 'the LSC of the detach',
                          0.1)
        x = tp.xstats()
        self.assertEqual(x['peer_attach_count'], attaches)
        self.assertEqual(gv.xstat_errors(x), {})
        self.assertEqual(tp.count(LSC), 2 * attaches, 'one LSC per attach and per loss')
        self.assertEqual(tp.quit(), 0)

    def test_port_stalled_while_the_stack_attaches(self):
        sock = self.ws.path('s')
        tp = self.ws.testpmd('testpmd', ['net_shmlink0,socket=%s' % sock], 'icmpecho').ready()
        tp.start()
        mark = tp.mark()
        os.kill(tp.pid, signal.SIGSTOP)
        try:
            p = self.ws.peer('gvisor', sock, ADDRS,
                             ['ping', '-c', '100', '-resolve', '10s', '198.19.4.1'])
            p.wait_for(r'attach failed: .*; trying again', 30)
        finally:
            os.kill(tp.pid, signal.SIGCONT)
        tp.wait_for(r'attached; we are the server', 20, mark)
        r = gv.parse_ping(p.finish(60))
        self.assertEqual(r['lost'], 0)
        self.assertRegex(p.output, r'; handshakes [2-9]')
        self.assertRegex(p.output, r'link address .* after \d+ resolution')
        x = tp.xstats()
        self.assertEqual(x['peer_attach_count'], 1)
        self.assertEqual(gv.xstat_errors(x), {})
        self.assertEqual(tp.quit(), 0)


if __name__ == '__main__':
    gv.main()
