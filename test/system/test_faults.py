#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Fault injection against a listening dpdk-testpmd: a peer killed with SIGKILL in the
middle of bursts, a hundred times over; a peer that never posts receive buffers; a peer
that never consumes what it is sent; garbage, truncated, oversized and FD-carrying
answers to an offer. Each time: a log line, testpmd keeps forwarding (tx_burst returns
fewer, never blocks), no FD, mapping or mbuf is left behind, and the port serves the next
peer, which forwards with nothing lost."""

import os
import signal
import socket
import time

import shmlink_sys as sysh

KILLS = 100


class FaultTest(sysh.SysTestCase):

    tag = 'faults'

    def peer_argv(self, sock, *extra):
        exe = sysh.peer_path()
        return [exe, '--socket', sock, '--cpus', '1', '--connect-timeout', '10'] + list(extra)

    def listener(self, extra=''):
        sock = self.ws.path('s')
        lp = self.ws.testpmd('listener', 'net_shmlink0,socket=%s%s' % (sock, extra), side=0,
                             fwd='io').ready()
        lp.start()
        return sock, lp, sysh.count_fds(lp.pid), sysh.fd_targets(lp.pid)

    def assert_clean(self, lp, base, base_targets, what):
        pid = lp.pid
        sysh.wait_until(lambda: sysh.count_fds(pid) == base, 5, '%s: FDs back to %d: %s -> %s'
                        % (what, base, base_targets, sysh.fd_targets(pid)))
        self.assertEqual(sysh.count_maps(pid, 'memfd:shmlink'), 0,
                         '%s: queue files still mapped' % what)

    def assert_pool_full(self, lp):
        lp.stop()
        pool = lp.mempools()['mb_pool_0']
        self.assertEqual(pool['available'], pool['size'],
                         '%d mbufs missing from the pool' % (pool['size'] - pool['available']))
        lp.start()

    def good_peer_forwards(self, sock, lp, role='server'):
        mark = lp.mark()
        p = self.ws.run('good', self.peer_argv(sock, '--mode', 'txonly', '--verify',
                                               '--duration', '2', '--fail-on-errors',
                                               '--expect-min', '1000'), limit=30)
        self.assertEqual(p.wait(30), 0, p.tail())
        lp.wait_for(r'attached; we are the %s' % role, 5, mark)

    def test_peer_killed_mid_burst_a_hundred_times(self):
        sock, lp, base, targets = self.listener()
        t0 = time.monotonic()
        for i in range(KILLS):
            mark = lp.mark()
            p = self.ws.run('kill%d' % i, self.peer_argv(sock, '--mode', 'txonly'), limit=30,
                            stdin=False)
            lp.wait_for(r'attached; we are the server', 10, mark)
            # Kill at a varying point of its bursts.
            time.sleep(0.005 * (i % 7))
            os.kill(p.pid, signal.SIGKILL)
            p.wait(10)
            lp.wait_for(r'detached: control socket closed', 10, mark)
        took = time.monotonic() - t0
        lp.wait_link('down')
        self.assert_clean(lp, base, targets, 'after %d kills' % KILLS)
        x = lp.xstats()
        self.assertEqual(x['peer_attach_count'], KILLS)
        self.assertEqual(sysh.xstat_errors(x), {}, 'a killed peer is not a protocol error')
        self.assert_pool_full(lp)
        self.good_peer_forwards(sock, lp)
        print('%d kill/reattach cycles in %.1f s' % (KILLS, took))
        self.assertEqual(lp.quit(), 0)

    def fake_peer(self, sock, role):
        """Attach by the protocol, then do nothing at all with the queues."""
        c = sysh.unix_seqpacket()
        c.connect(sock)
        m, fds = sysh.ctl_recv(c, 8)
        sysh.close_fds(fds)      # the mappings are not needed to stay silent
        self.assertIsNotNone(m)
        self.assertEqual(m['role'], role)
        c.send(sysh.ctl_pack(sysh.CTL_ACCEPT, role=role, nb_qp=1))
        return c

    def silent_peer_keeps_testpmd_forwarding(self, extra, role, what):
        sock, lp, base, targets = self.listener(extra)
        lp.cmd('stop')
        lp.cmd('set fwd txonly')
        lp.start()
        mark = lp.mark()
        c = self.fake_peer(sock, role)
        lp.wait_for(r'attached; we are the', 5, mark)
        if role == sysh.ROLE_CLIENT:
            # A client that never posts buffers leaves the link down: nothing the port
            # sent could arrive.
            time.sleep(0.3)
            self.assertEqual(lp.link_status(), 'down', '%s: link up' % what)
        else:
            lp.wait_link('up')
        # testpmd keeps running and answering while its sends are refused.
        for _ in range(5):
            t = time.monotonic()
            st = lp.port_stats()
            self.assertLess(time.monotonic() - t, 5, '%s: testpmd stalled' % what)
            time.sleep(0.2)
        # At most what the port's default data region holds in 2048-byte chunks.
        self.assertLessEqual(st['tx'], sysh.LISTEN_DATA_SIZE // sysh.BUFFER_SIZE,
                             '%s: %d frames sent into a peer that takes none' % (what, st['tx']))
        mark = lp.mark()
        c.close()
        lp.wait_for(r'detached: control socket closed', 5, mark)
        self.assert_clean(lp, base, targets, what)
        self.assert_pool_full(lp)
        lp.cmd('stop')
        lp.cmd('set fwd io')
        lp.start()
        self.good_peer_forwards(sock, lp, 'client' if role == sysh.ROLE_SERVER else 'server')
        self.assertEqual(lp.quit(), 0)

    def test_peer_that_never_posts_rx_buffers(self):
        # testpmd is the server: it can only send into buffers the client posted.
        self.silent_peer_keeps_testpmd_forwarding('', sysh.ROLE_CLIENT, 'no posted buffers')

    def test_peer_that_never_consumes(self):
        # testpmd is the client: its TX chunks run out when nothing is completed.
        self.silent_peer_keeps_testpmd_forwarding(',role=client', sysh.ROLE_SERVER,
                                                  'no completions')

    def test_bad_answers_to_an_offer(self):
        sock, lp, base, targets = self.listener()
        junk = bytes(range(256)) * 4
        answers = [
            ('garbage', junk[:64], [], r'bad magic'),
            ('truncated', sysh.ctl_pack(sysh.CTL_ACCEPT)[:10], [], r'shorter than'),
            ('oversized', sysh.ctl_pack(sysh.CTL_ACCEPT) + junk, [], r'longer than 256'),
            ('with FDs', sysh.ctl_pack(sysh.CTL_ACCEPT, role=sysh.ROLE_CLIENT), 'fds',
             r'too many FDs'),
        ]
        for name, data, fds, log in answers:
            with self.subTest(answer=name):
                mark = lp.mark()
                with sysh.unix_seqpacket() as c:
                    c.connect(sock)
                    m, got = sysh.ctl_recv(c, 8)
                    sysh.close_fds(got)
                    self.assertIsNotNone(m)
                    if fds:
                        fds = sysh.queue_files()
                        socket.send_fds(c, [data], fds)
                        sysh.close_fds(fds)
                    else:
                        c.send(data)
                    lp.wait_for(r'attach failed: .*' + log, 8, mark)
                self.assert_clean(lp, base, targets, name)
                self.assertEqual(lp.link_status(), 'down')
        self.good_peer_forwards(sock, lp)
        self.assertEqual(lp.quit(), 0)


if __name__ == '__main__':
    sysh.main()
