#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""The link comes up only when a frame sent on it can be received.

A gVisor server drops what it sends until its client has posted receive buffers, and
gVisor's client posts them only when its stack attaches the endpoint, which may come
well after the handshake. A port in the server role must therefore report link up only
once the peer has posted (the rest of the time its Tx refuses frames, and the
application keeps them). shmlink-peer --attach-delay plays such a client: it makes its
endpoint (and posts) a random 0 to 40 ms after the handshake.

60 attaches (SHMLINK_FIRST_FRAME_ATTACHES) in each mode (the port listening, connecting) and role (server, client):
each time, as soon as testpmd sees the link up it sends one burst (start tx_first 1),
and every frame of that first burst must be taken by the port and reach the peer."""

import json
import os
import random
import sys

import shmlink_sys as sysh

# The DPDK matrix's chroots take fewer (the race is the driver's, the same code on
# every DPDK; the main run keeps 60).
ATTACHES = int(os.environ.get('SHMLINK_FIRST_FRAME_ATTACHES', '60'))
BURST = 32      # testpmd's default burst: what start tx_first 1 sends


class FirstFrameTest(sysh.SysTestCase):

    tag = 'first-frame'

    def attaches(self, listen, role):
        sock = self.ws.path('s')
        devargs = 'net_shmlink0,socket=%s,role=%s%s' % (sock, role,
                                                         '' if listen else ',listen=no')
        # Driver logs at warning: its info lines about every attach would interleave
        # with the commands (DPDK 24.11's log writes a line in pieces); the test reads
        # the port's state from telemetry instead.
        tp = self.ws.testpmd('testpmd', devargs, side=0, fwd='io',
                             log_level='warning').ready()
        rnd = random.Random(7)
        for i in range(ATTACHES):
            jpath = self.ws.path('peer-%d.json' % i)
            argv = [sysh.peer_path(), '--socket', sock, '--mode', 'rxonly', '--duration', '0',
                    '--rx-count', str(BURST),
                    '--cpus', sysh.CPUS[1], '--json', jpath, '--connect-timeout', '10',
                    '--attach-delay', str(rnd.randrange(0, 41))]
            if not listen:
                argv += ['--listen', '--role', 'client' if role == 'server' else 'server']
            peer = self.ws.run('peer-%d' % i, argv, limit=30, stdin=False)
            sysh.wait_until(lambda: tp.telemetry('/shmlink/info,0')['attach_count'] == i + 1,
                            15, 'attach %d' % (i + 1))
            self.assertEqual(tp.telemetry('/shmlink/info,0')['role'], role)
            tp.wait_link('up', 10)
            tp.start(tx_first=1)
            fwd = tp.stop()
            self.assertEqual((fwd['tx'], fwd['tx_dropped']), (BURST, 0),
                             'attach %d: the port refused the first burst after link up '
                             '(%s)' % (i, fwd))
            # The peer stops once the burst came in (in the client role the port's
            # frames wait in the pipes until the peer has made its endpoints).
            peer.wait_for(r'received %d frames: stopping' % BURST, 15)
            self.assertEqual(peer.wait(15), 0, peer.tail())
            with open(jpath) as f:
                self.assertEqual(json.load(f)['total']['rx_packets'], BURST)
            tp.wait_link('down', 10)
        x = tp.xstats()
        self.assertEqual(x['peer_attach_count'], ATTACHES)
        self.assertEqual(sysh.xstat_errors(x), {})
        sys.stderr.write('  %s, %s: %d attaches, every first burst received\n' % (
            'listening' if listen else 'connecting', role, ATTACHES))
        self.assertEqual(tp.quit(), 0)

    def test_listening_server(self):
        self.attaches(True, 'server')

    def test_listening_client(self):
        self.attaches(True, 'client')

    def test_connecting_server(self):
        self.attaches(False, 'server')

    def test_connecting_client(self):
        self.attaches(False, 'client')


if __name__ == '__main__':
    sysh.main()
