#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Link state and peer loss: a listening testpmd forwarding (io) sees its link down with
no peer, up when a connecting testpmd attaches, down again when that process is killed
with SIGKILL in the middle of traffic, and up when the next one connects, after which
traffic flows again. Five such cycles leave the listener with no FD, no mapping and no
mbuf of any earlier peer."""

import os
import signal
import time

import shmlink_sys as sysh

CYCLES = 5
LSC = r'Port 0: link state change event'


class PeerLossTest(sysh.SysTestCase):

    tag = 'peer-loss'

    def rx_grows(self, t, by, timeout=10):
        r0 = t.port_stats()['rx']
        sysh.wait_until(lambda: t.port_stats()['rx'] - r0 >= by, timeout,
                        '%s to receive %d frames' % (t.name, by), 0.1)

    def test_link_follows_peers_killed_mid_traffic_and_nothing_leaks(self):
        sock = self.ws.path('s')
        lp = self.ws.testpmd('listener', 'net_shmlink0,socket=%s' % sock, side=0,
                             fwd='io').ready()
        pid = lp.pid
        self.assertEqual(lp.link_status(), 'down', 'link up with no peer')
        lp.start()
        base, base_targets = sysh.count_fds(pid), sysh.fd_targets(pid)

        for cycle in range(1, CYCLES + 1):
            mark = lp.mark()
            peer = self.ws.testpmd('peer%d' % cycle, 'net_shmlink0,socket=%s,listen=no' % sock,
                                   side=1, fwd='txonly').ready()
            lp.wait_for(r'attached; we are the server', 10, mark)
            lp.wait_for(LSC, 10, mark)
            self.assertEqual(lp.link_status(), 'up', 'cycle %d: link down with a peer' % cycle)
            peer.start()
            self.rx_grows(lp, 10000)          # traffic flows (again)

            mark = lp.mark()
            os.kill(peer.pid, signal.SIGKILL)
            # timeout passes the signal on: it dies of SIGKILL too, or exits 137.
            self.assertIn(peer.wait(10), (-signal.SIGKILL, 128 + signal.SIGKILL))
            lp.wait_for(r'detached: control socket closed', 10, mark)
            lp.wait_for(LSC, 10, mark)
            self.assertEqual(lp.link_status(), 'down', 'cycle %d: link up after the kill'
                             % cycle)
            sysh.wait_until(lambda: sysh.count_fds(pid) == base, 5,
                            'cycle %d: FDs back to %d: %s -> %s' % (
                                cycle, base, base_targets, sysh.fd_targets(pid)))
            self.assertEqual(sysh.count_maps(pid, 'memfd:shmlink'), 0,
                             'cycle %d: queue files of a dead peer still mapped' % cycle)
            # Nothing arrives without a peer.
            r0 = lp.port_stats()['rx']
            time.sleep(0.2)
            self.assertEqual(lp.port_stats()['rx'], r0)

        lp.stop()
        pools = lp.mempools()
        self.assertIn('mb_pool_0', pools, pools)
        pool = pools['mb_pool_0']
        self.assertEqual(pool['size'], sysh.NB_MBUFS)
        self.assertEqual(pool['available'], pool['size'],
                         '%d mbufs missing from the pool' % (pool['size'] - pool['available']))
        x = lp.xstats()
        self.assertEqual(x['peer_attach_count'], CYCLES)
        # Dying mid-traffic is not a protocol violation.
        self.assertEqual(sysh.xstat_errors(x), {})
        st = lp.port_stats()
        self.assertEqual((st['rx_errors'], st['rx_nombuf']), (0, 0))
        self.assertEqual(lp.count(LSC), 2 * CYCLES, 'one link event per attach and per loss')
        self.assertEqual(lp.quit(), 0)
        self.assertFalse(os.path.lexists(sock))

    def test_connecting_port_follows_listeners_killed_mid_traffic(self):
        # The other way round: the listener dies, leaving its socket file behind; the
        # next listener replaces that stale file and the connecting port, which keeps
        # retrying, attaches to it.
        sock = self.ws.path('s')
        cp = self.ws.testpmd('connector', 'net_shmlink0,socket=%s,listen=no' % sock, side=0,
                             fwd='io').ready()
        pid = cp.pid
        self.assertEqual(cp.link_status(), 'down', 'link up with no peer')
        cp.start()
        # Idle, the port opens a socket for each connection attempt: take the least.
        samples = []
        for _ in range(20):
            samples.append(sysh.count_fds(pid))
            time.sleep(0.01)
        base = min(samples)
        cycles = 3
        for cycle in range(1, cycles + 1):
            mark = cp.mark()
            peer = self.ws.testpmd('listener%d' % cycle, 'net_shmlink0,socket=%s' % sock,
                                   side=1, fwd='txonly').ready()
            cp.wait_for(r'attached; we are the client', 10, mark)
            cp.wait_for(LSC, 10, mark)
            self.assertEqual(cp.link_status(), 'up', 'cycle %d: link down with a peer' % cycle)
            peer.start()
            self.rx_grows(cp, 10000)

            mark = cp.mark()
            os.kill(peer.pid, signal.SIGKILL)
            self.assertIn(peer.wait(10), (-signal.SIGKILL, 128 + signal.SIGKILL))
            cp.wait_for(r'detached: control socket closed', 10, mark)
            cp.wait_for(LSC, 10, mark)
            self.assertEqual(cp.link_status(), 'down', 'cycle %d: link up after the kill'
                             % cycle)
            sysh.wait_until(lambda: sysh.count_fds(pid) <= base, 5,
                            'cycle %d: FDs back to %d: %s' % (cycle, base,
                                                              sysh.fd_targets(pid)))
            self.assertEqual(sysh.count_maps(pid, 'memfd:shmlink'), 0,
                             'cycle %d: queue files of a dead peer still mapped' % cycle)
            self.assertTrue(os.path.exists(sock), 'the killed listener left no socket file')

        cp.stop()
        pool = cp.mempools()['mb_pool_0']
        self.assertEqual(pool['available'], pool['size'],
                         '%d mbufs missing from the pool' % (pool['size'] - pool['available']))
        x = cp.xstats()
        self.assertEqual(x['peer_attach_count'], cycles)
        self.assertEqual(sysh.xstat_errors(x), {})
        self.assertEqual(cp.count(LSC), 2 * cycles)
        self.assertEqual(cp.quit(), 0)


if __name__ == '__main__':
    sysh.main()
