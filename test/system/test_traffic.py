#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Traffic between two testpmd processes over net_shmlink: a listening port (server role)
and a connecting one (listen=no, so it takes the client role it is offered).

txonly -> rxonly in both directions at 64 and 1518 bytes, over two queue pairs with
512-byte buffers, multi-segment frames (up to 9018-byte jumbo frames) into receivers
whose mbufs are too small for them (chains), and io forwarding both ways. In each run
the sender stops first and the receiver drains; then every frame the sender's port
counted as sent must have been received whole (packets and bytes equal, no receive
error, no missing mbuf), and no peer_* error counter may move. Frames that cannot be
carried (over the MTU on send; larger than an mbuf without scatter on receive) are
counted as errors, never lost silently."""

import sys
import time

import shmlink_sys as sysh

RUN_S = 1.5
# Far below what either direction does here (millions per second): frames must flow.
MIN_FRAMES = 20000
# 1518 bytes as 23 segments of 64 and one of 46.
SEGS_1518 = ','.join(['64'] * 23 + ['46'])
# A jumbo frame (MTU 9000, no VLAN tag) in 18 segments.
JUMBO = ','.join(['512'] * 17 + ['314'])


def delta(after, before):
    return {k: after[k] - before[k] for k in after}


class TrafficTest(sysh.SysTestCase):

    tag = 'traffic'

    def check_xstats(self, *ports):
        for t in ports:
            x = t.xstats()
            self.assertEqual(sysh.xstat_errors(x), {}, '%s: error counters' % t.name)
            self.assertEqual(x['peer_attach_count'], 1, '%s reattached' % t.name)

    def txonly(self, sender, receiver, txpkts, label):
        """One txonly -> rxonly run; returns the frames sent."""
        sender.cmd('set fwd txonly')
        sender.cmd('set txpkts %s' % txpkts)
        receiver.cmd('set fwd rxonly')
        s0, r0 = sender.port_stats(), receiver.port_stats()
        receiver.start()
        sender.start()
        time.sleep(RUN_S)
        sender.stop()
        s = delta(sender.port_stats(), s0)
        sent = s['tx']
        # The receiver drains what is still in the rings.
        sysh.wait_until(lambda: receiver.port_stats()['rx'] - r0['rx'] >= sent, 10,
                        '%s: receiver to count %d frames' % (label, sent), 0.1)
        receiver.stop()
        r = delta(receiver.port_stats(), r0)
        sys.stderr.write('  %s: %d frames in %.1f s (%.2f Mpps), %d tx errors\n' % (
            label, sent, RUN_S, sent / RUN_S / 1e6, s['tx_errors']))
        self.assertGreater(sent, MIN_FRAMES, label)
        self.assertEqual(s['tx_errors'], 0, label)
        self.assertEqual((r['rx_errors'], r['rx_nombuf'], r['rx_missed']), (0, 0, 0), label)
        self.assertEqual(r['rx'], sent, '%s: received %d of %d frames' % (label, r['rx'], sent))
        self.assertEqual(r['rx_bytes'], s['tx_bytes'], label)
        frame = sum(int(x) for x in txpkts.split(','))
        self.assertEqual(s['tx_bytes'], sent * frame, label)
        return sent

    def io_both_ways(self, first, other):
        """io forwarding on both sides, started by a burst from @first."""
        for t in (first, other):
            t.cmd('set fwd io')
        f0, o0 = first.port_stats(), other.port_stats()
        other.start()
        first.start(tx_first=8)
        time.sleep(RUN_S)
        first.stop()
        # @other forwards what @first sent until none is left...
        f_tx = first.port_stats()['tx'] - f0['tx']
        sysh.wait_until(lambda: other.port_stats()['rx'] - o0['rx'] >= f_tx, 10,
                        'io: other side to count %d frames' % f_tx, 0.1)
        time.sleep(0.2)
        other.stop()
        # ... and @first's start flushes its receive queue into its port counters.
        first.start()
        first.stop()
        f, o = delta(first.port_stats(), f0), delta(other.port_stats(), o0)
        sys.stderr.write('  io: %d frames one way, %d back\n' % (f['tx'], o['tx']))
        self.assertGreater(f['tx'], MIN_FRAMES)
        self.assertGreater(o['tx'], MIN_FRAMES)
        self.assertEqual((f['rx'], f['rx_bytes']), (o['tx'], o['tx_bytes']))
        self.assertEqual((o['rx'], o['rx_bytes']), (f['tx'], f['tx_bytes']))
        for d in (f, o):
            self.assertEqual((d['rx_errors'], d['rx_nombuf'], d['tx_errors']), (0, 0, 0))

    def oversize_is_counted_not_sent(self, sender, receiver):
        """Frames longer than the MTU allows (1500 + 14 + two VLAN tags) are dropped on
        send and counted as transmit errors; none reaches the peer."""
        sender.cmd('set fwd txonly')
        sender.cmd('set txpkts 1600')
        receiver.cmd('set fwd rxonly')
        s0, r0 = sender.port_stats(), receiver.port_stats()
        receiver.start()
        sender.start()
        time.sleep(0.3)
        fwd = sender.stop()
        time.sleep(0.2)
        receiver.stop()
        s, r = delta(sender.port_stats(), s0), delta(receiver.port_stats(), r0)
        self.assertEqual((s['tx'], r['rx'], r['rx_errors']), (0, 0, 0))
        self.assertGreater(s['tx_errors'], 1000, 'oversize frames not counted')
        # testpmd's TX-dropped is what the driver refused to take plus the port's
        # transmit errors: the driver took every frame and counted each one.
        self.assertEqual(fwd['tx_dropped'], s['tx_errors'])

    def test_single_segment_both_directions_and_io(self):
        ls, cn = sysh.testpmd_pair(self.ws, self.ws.path('s'))
        self.txonly(cn, ls, '64', 'connector -> listener, 64 B')
        self.txonly(ls, cn, '64', 'listener -> connector, 64 B')
        self.txonly(cn, ls, '1518', 'connector -> listener, 1518 B')
        self.txonly(ls, cn, '1518', 'listener -> connector, 1518 B')
        self.io_both_ways(cn, ls)
        self.check_xstats(ls, cn)
        self.oversize_is_counted_not_sent(cn, ls)
        self.assertEqual((ls.quit(), cn.quit()), (0, 0))

    def test_two_queue_pairs_both_carry_traffic(self):
        two = ['--rxq=2', '--txq=2']
        # The listener offers 512-byte buffers, which the connecting client then uses.
        ls, cn = sysh.testpmd_pair(self.ws, self.ws.path('s'),
                                   listen_args=',queues=2,buffer_size=512',
                                   conn_args=',queues=2', args=(two, two))
        self.txonly(cn, ls, '64', 'connector -> listener, 2 queue pairs')
        self.txonly(ls, cn, '1518', 'listener -> connector, 2 queue pairs')
        for t, d in ((ls, 'rx'), (cn, 'rx')):
            x = t.xstats()
            for q in (0, 1):
                self.assertGreater(x['%s_q%d_packets' % (d, q)], MIN_FRAMES / 4,
                                   '%s: queue %d idle' % (t.name, q))
        self.check_xstats(ls, cn)
        self.assertEqual((ls.quit(), cn.quit()), (0, 0))

    def test_multi_segment_frames_into_mbuf_chains(self):
        # 512 bytes of data room per mbuf: a 1518-byte frame needs a chain of 3.
        small = ['--enable-scatter', '--mbuf-size=640']
        ls, cn = sysh.testpmd_pair(self.ws, self.ws.path('s'), listen_args=',mtu=9000',
                                   conn_args=',mtu=9000', args=(small, small))
        self.txonly(cn, ls, SEGS_1518, 'connector -> listener, 24 segments')
        self.txonly(ls, cn, SEGS_1518, 'listener -> connector, 24 segments')
        self.txonly(cn, ls, '512,512,494', 'connector -> listener, 3 segments')
        # 9018-byte frames: five 2048-byte buffers in shared memory, 18 mbufs on receive.
        self.txonly(cn, ls, JUMBO, 'connector -> listener, 9018 B')
        self.txonly(ls, cn, JUMBO, 'listener -> connector, 9018 B')
        self.check_xstats(ls, cn)

        # Control: without scatter the listener cannot take these frames; each one is
        # dropped and counted as a receive error, none is lost silently.
        ls.cmd('port stop 0', done=r'Done')
        ls.cmd('port config 0 rx_offload scatter off')
        ls.cmd('port start 0', done=r'Done')
        ls.wait_link('up')
        cn.cmd('set fwd txonly')
        cn.cmd('set txpkts %s' % SEGS_1518)
        ls.cmd('set fwd rxonly')
        s0, r0 = cn.port_stats(), ls.port_stats()
        ls.start()
        cn.start()
        time.sleep(0.5)
        cn.stop()
        sent = cn.port_stats()['tx'] - s0['tx']
        sysh.wait_until(lambda: ls.port_stats()['rx_errors'] - r0['rx_errors'] >= sent, 10,
                        'listener to count %d drops' % sent, 0.1)
        ls.stop()
        r = delta(ls.port_stats(), r0)
        self.assertGreater(sent, 1000)
        self.assertEqual((r['rx'], r['rx_errors']), (0, sent),
                         'frames larger than an mbuf without scatter')
        self.assertEqual((ls.quit(), cn.quit()), (0, 0))


if __name__ == '__main__':
    sysh.main()
