#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Telemetry: /shmlink/list and /shmlink/info,<port> through the telemetry socket, as
dpdk-telemetry.py queries them: the port before a peer (down, not attached), with a
shmlink-peer attached (up, the peer's pid, role, sizes, buffers in flight, no errors),
and after it left."""

import os

import shmlink_sys as sysh
from shmlink import telemetry


class TelemetryTest(sysh.SysTestCase):

    tag = 'telemetry'

    def test_list_and_info(self):
        sock = self.ws.path('s')
        lp = self.ws.testpmd('listener', 'net_shmlink0,socket=%s,mtu=9000' % sock, side=0,
                             fwd='io').ready()
        tel = telemetry.Telemetry(telemetry.socket_path(lp.prefix))
        self.addCleanup(tel.close)
        self.assertEqual(tel.query('/shmlink/list'), [0])
        info = tel.query('/shmlink/info,0')
        self.assertEqual((info['socket'], info['mode'], info['link'], info['attached'],
                          info['role'], info['framing'], info['mtu'], info['queue_pairs']),
                         (sock, 'listen', 'down', 0, 'server', 'eth', 9000, 1), info)
        self.assertEqual((info['zero_copy'], info['queue_files']), ('no', 'memfd'), info)
        self.assertEqual(info.get('queues', {}), {})
        self.assertIsNone(tel.query('/shmlink/info,7'))

        lp.start()
        exe = sysh.peer_path()
        peer = self.ws.run('peer', [exe, '--socket', sock, '--mode', 'txonly', '--verify',
                                    '--duration', '3', '--cpus', '1', '--mtu', '9000'],
                           limit=30)
        lp.wait_for(r'attached; we are the server', 10)
        lp.wait_link('up')
        info = tel.query('/shmlink/info,0')
        self.assertEqual((info['link'], info['attached'], info['role'], info['peer_pid'],
                          info['peer_uid'], info['attach_count'], info['buffer_size']),
                         ('up', 1, 'server', peer.pid, os.getuid(), 1, 2048), info)
        q = info['queues']
        self.assertEqual(list(q), ['qp0'], info)
        q = q['qp0']
        self.assertEqual((q['tx_data_size'], q['pipe_size'], q['tx_ring_size']),
                         (sysh.LISTEN_DATA_SIZE, sysh.LISTEN_PIPE_SIZE, sysh.LISTEN_PIPE_SIZE),
                         q)
        self.assertLessEqual(q['tx_ring_used'], q['tx_ring_size'])
        self.assertEqual(set(info['peer_errors'].values()), {0}, info['peer_errors'])

        self.assertEqual(peer.wait(30), 0, peer.tail())
        lp.wait_link('down')
        info = tel.query('/shmlink/info,0')
        self.assertEqual((info['link'], info['attached'], info['attach_count']),
                         ('down', 0, 1), info)
        self.assertEqual(lp.quit(), 0)


if __name__ == '__main__':
    sysh.main()
