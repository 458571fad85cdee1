#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""testpmd against app/shmlink-peer, a peer built on lib/shmlink alone.

testpmd forwards (io) whatever the peer sends; the peer runs txonly --verify: it numbers
and fills its frames, receives them back and checks each one's content and sequence. In
both roles, both framings (Ethernet and raw IP), with and without the virtio-net header,
with frames spanning several buffers of shared memory, and with the peer as the
listening side once, and once with testpmd stalled while the peer attaches (the peer
tries again): every frame the peer sent reached testpmd, every frame testpmd
sent reached the peer intact and in order, and the only frames that did not come back
are those testpmd itself counted as dropped."""

import json
import os
import re
import signal
import sys

import shmlink_sys as sysh

DURATION = '1'
MIN_FRAMES = 20000



class PeerAppTest(sysh.SysTestCase):

    tag = 'peer-app'

    def exchange(self, devargs, peer_args, txpkts, testpmd_args=(), peer_listens=False,
                 role=None, stall=False):
        """testpmd io <-> shmlink-peer txonly --verify; check the accounting. @stall:
        testpmd is stopped (SIGSTOP) until the peer has waited for its offer in vain
        and said it tries again."""
        sock = self.ws.path('s')
        jpath = self.ws.path('peer.json')
        peer_argv = [sysh.peer_path(), '--socket', sock, '--mode', 'txonly', '--verify',
                     '--txpkts', txpkts, '--duration', DURATION, '--cpus', sysh.CPUS[1],
                     '--json', jpath, '--expect-min', str(MIN_FRAMES)] + list(peer_args)
        if peer_listens:
            peer_argv.append('--listen')
        # The listening side first; either way testpmd forwards before traffic starts
        # (--no-flush-rx: what arrives early is forwarded, not discarded).
        tp = self.ws.testpmd('testpmd', 'net_shmlink0,socket=%s%s' % (sock, devargs),
                             side=0, fwd='io', args=['--no-flush-rx'] + list(testpmd_args))
        tp.ready()
        self.assertNotRegex(tp.output, r'Fail to configure port|Start ports failed',
                            'testpmd cannot start the port with its default MTU')
        tp.start()
        mark = tp.mark()
        if stall:
            os.kill(tp.pid, signal.SIGSTOP)
        try:
            peer = self.ws.run('peer', peer_argv, limit=40)
            if stall:
                peer.wait_for(r'attach failed: no offer .*; trying again', 30)
        finally:
            if stall:
                os.kill(tp.pid, signal.SIGCONT)
        rc = peer.wait(40)
        self.assertEqual(rc, 0, 'shmlink-peer failed:\n' + peer.tail())
        tp.wait_for(r'detached', 10, mark)
        if role is not None:
            self.assertRegex(tp.output[mark:], r'attached; we are the %s' % role)
        fwd = tp.stop()
        ps = tp.port_stats()
        x = tp.xstats()
        self.last_stats = (ps, x)
        with open(jpath) as f:
            j = json.load(f)
        t = j['total']
        self.assertEqual(j['attaches'], 1)
        self.assertGreater(t['rx_verified'], MIN_FRAMES)
        # Every frame of the peer reached testpmd; every frame testpmd sent reached the
        # peer; bytes alike.
        self.assertEqual((ps['rx'], ps['rx_bytes']), (t['tx_packets'], t['tx_bytes']))
        self.assertEqual((t['rx_packets'], t['rx_bytes']), (ps['tx'], ps['tx_bytes']))
        # Each intact and in order.
        self.assertEqual((t['rx_verified'], t['rx_foreign'], t['rx_corrupt'],
                          t['rx_reordered']), (t['rx_packets'], 0, 0, 0), t)
        # What did not come back is what testpmd dropped when the peer's ring was full.
        self.assertEqual(t['tx_unreturned'], fwd['tx_dropped'], (t, fwd))
        self.assertLessEqual(t['rx_lost'], fwd['tx_dropped'])
        self.assertEqual((ps['rx_errors'], ps['rx_nombuf'], ps['tx_errors']), (0, 0, 0))
        self.assertEqual(fwd['rx_dropped'], 0)
        ep = t['endpoint']
        self.assertEqual({k: v for k, v in ep.items() if k != 'signals'},
                         {k: 0 for k in ep if k != 'signals'}, 'peer endpoint counters')
        self.assertEqual(sysh.xstat_errors(x), {}, 'testpmd error counters')
        self.assertEqual(x['rx_trimmed_frames'], 0, 'exact frames were trimmed')
        sys.stderr.write('  %d frames verified, %d dropped by testpmd, %d lost\n' % (
            t['rx_verified'], fwd['tx_dropped'], t['rx_lost']))
        self.assertEqual(tp.quit(), 0)
        self.assertFalse(os.path.lexists(sock))
        return t

    def test_eth_testpmd_server_peer_client(self):
        self.exchange('', [], '64,1514,300,60', role='server')

    def test_testpmd_stalled_while_the_peer_attaches(self):
        # Longer than the peer waits for the offer (5 s), as a loaded machine can stall
        # the port's interrupt thread: the peer tries again and attaches.
        self.exchange('', ['--connect-timeout', '30'], '64,1514', role='server', stall=True)

    def test_eth_testpmd_client_peer_server_frames_span_buffers(self):
        # 512-byte buffers: a 1514-byte frame takes three of them.
        self.exchange(',role=client,buffer_size=512', ['--role', 'server'], '64,1514,700',
                      role='client')

    def test_ip_testpmd_server_peer_client_at_default_mtu(self):
        # testpmd configures MTU 1500, which a framing=ip port must take: its largest
        # frame is then 1500 bytes, with no link header.
        self.exchange(',framing=ip', ['--framing', 'ip'], '46,1500,300', role='server')

    def test_ip_testpmd_client_peer_server(self):
        # --max-pkt-len=1500 lets testpmd start the port even while the driver reports
        # a raw-IP port's largest frame as smaller than MTU + 18 (see the test above);
        # the MTU it then sets is 1482.
        self.exchange(',framing=ip,role=client,buffer_size=512',
                      ['--framing', 'ip', '--role', 'server'], '46,1482,600',
                      testpmd_args=['--max-pkt-len=1500'], role='client')

    def test_virtio_hdr_testpmd_server_peer_client(self):
        self.exchange(',virtio_hdr=yes', ['--virtio-hdr'], '64,1514,300', role='server')

    def test_virtio_hdr_peer_listening_testpmd_connecting_into_mbuf_chains(self):
        # The peer listens as client; testpmd connects, takes the server role and
        # receives into 512-byte mbufs (chains).
        self.exchange(',listen=no,virtio_hdr=yes', ['--virtio-hdr'], '64,1514,300',
                      testpmd_args=['--enable-scatter', '--mbuf-size=640'],
                      peer_listens=True, role='server')

    def check_lent(self):
        """After exchange() with zero_copy=rx: testpmd forwarded the frames it was lent,
        each received frame was lent or copied, and most were lent."""
        ps, x = self.last_stats
        lent, copied = x['rx_zero_copy_frames'], x['rx_zero_copy_copied_frames']
        sys.stderr.write('  %d frames lent, %d copied\n' % (lent, copied))
        self.assertEqual(lent + copied, ps['rx'], x)
        self.assertGreater(lent, ps['rx'] // 2, x)
        self.assertEqual(x['rx_zero_copy_lent_now'], 0, x)

    def test_queue_files_in_dev_shm_lending(self):
        # Unlinked files in a tmpfs directory, which cannot be sealed: the peer is told
        # to take them. Frames lent from them, too.
        self.exchange(',queue_files=/dev/shm,zero_copy=rx', ['--allow-unsealed'],
                      '64,1514,300', role='server')
        self.check_lent()

    def test_zero_copy_rx_testpmd_server_peer_client(self):
        self.exchange(',zero_copy=rx', [], '64,1514,300,60', role='server')
        self.check_lent()

    def test_zero_copy_rx_testpmd_client_peer_server_frames_span_buffers(self):
        self.exchange(',role=client,buffer_size=512,zero_copy=rx', ['--role', 'server'],
                      '64,1514,700', role='client')
        self.check_lent()

    def test_zero_copy_tx_client_peer_server_frames_span_buffers(self):
        """shmlink_zc_fwd, a client lending 512-byte TX buffers (zero_copy=yes), builds
        each frame it forwards in a chain of them, and keeps some it frees at random
        without sending: each frame reaches the peer intact and in order, sent where it
        was built, and every buffer is back at the end."""
        sock = self.ws.path('s')
        jpath = self.ws.path('peer.json')
        vdev = 'net_shmlink0,socket=%s,role=client,buffer_size=512,zero_copy=yes' % sock
        app = self.ws.run('zc_fwd', [os.path.join(sysh.BUILD_DIR, 'test', 'system',
                                                  'shmlink_zc_fwd')] +
                          sysh.eal_args(self.ws.prefix('zf'), [vdev], sysh.LCORES[0]) +
                          ['--', '--timeout', '40', '--hold', '64'], limit=60)
        app.wait_for(r'^ZCFWD ready', 30)
        peer = self.ws.run('peer', [
            sysh.peer_path(), '--socket', sock, '--mode', 'txonly', '--verify',
            '--txpkts', '64,1514,700', '--duration', DURATION, '--cpus', sysh.CPUS[1],
            '--json', jpath, '--expect-min', str(MIN_FRAMES), '--role', 'server'],
            limit=40)
        self.assertEqual(peer.wait(40), 0, 'shmlink-peer failed:\n' + peer.tail())
        self.assertEqual(app.wait(30), 0, app.tail())
        c = {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', app.wait_for(
            r'^ZCFWD rx=.*$', 5).group(0))}
        x = dict((k, int(v)) for k, v in re.findall(r'^XSTAT 0 (\w+) (\d+)$', app.output,
                                                     re.M))
        with open(jpath) as f:
            t = json.load(f)['total']
        sys.stderr.write('  %s; %s\n' % (c, x))
        self.assertEqual(c['rx'], t['tx_packets'])
        self.assertEqual(c['tx'], t['rx_packets'])
        self.assertEqual((t['rx_verified'], t['rx_foreign'], t['rx_corrupt'],
                          t['rx_reordered']), (t['rx_packets'], 0, 0, 0), t)
        self.assertEqual(t['tx_unreturned'], c['dropped'], (t, c))
        self.assertGreater(c['built'], c['rx'] // 2, c)
        # Every built frame that went out went where it was built.
        self.assertGreaterEqual(x['tx_zero_copy_frames'], c['built'] - c['dropped'], x)
        self.assertLessEqual(x['tx_zero_copy_frames'], c['built'], x)
        self.assertEqual(x['tx_zero_copy_lent_now'], 0, x)
        self.assertFalse(os.path.lexists(sock))


if __name__ == '__main__':
    sysh.main()
