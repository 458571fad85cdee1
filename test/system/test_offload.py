#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Checksum offloads agreed by control protocol 1.1, with a real dpdk-testpmd and
app/shmlink-peer (txonly --verify: every frame it gets back has its UDP checksum
classified as none (0), valid or bad; a bad one is corruption unless the peer said it
takes unfilled checksums).

Rx (peer -> DPDK), the peer sends UDP checksum 0 and says it may (csum_tx):
  - the port fills each checksum for testpmd, which does not enable the Rx offload, so
    the frames testpmd sends back carry valid checksums; refused (rx_cksum=off), they
    come back with 0;
  - testpmd with the Rx offloads enabled gets RTE_MBUF_F_RX_L4_CKSUM_NONE (and IP GOOD,
    packet types) instead, and the port fills nothing.
Tx (DPDK -> peer), testpmd's csum engine asks the port for the IPv4 and UDP checksums,
or one of them, computing the other itself (each in one mbuf and in chains):
  - a peer that verifies gets them filled in software, all valid;
  - a peer that takes unfilled checksums (csum_rx) gets the L4 field as testpmd left it
    (the pseudo-header sum), the IPv4 header checksum still filled.
Both again with multi-segment mbufs (testpmd's mbufs hold 512 bytes: a 1514-byte frame
comes in as a chain of 3 and goes back out as one) and with 802.1Q-tagged frames.
Required offloads: no link without them, the port listening or connecting."""

import json
import os
import re

import shmlink_sys as sysh

DURATION = '1'
MIN_FRAMES = 5000
# testpmd's mbufs for chains: 128 bytes of headroom and 512 of data each.
SCATTER = ['--enable-scatter', '--mbuf-size=640']
# The peer's frame sizes (64,1514,300; 4 more each when tagged) average 626 bytes: far
# above it, the big frames came back.
MIN_AVG_LEN = 600
VLAN = ['--vlan', '100']



class OffloadTest(sysh.SysTestCase):

    tag = 'offload'

    def peer(self, sock, args, duration=DURATION, extra=()):
        jpath = self.ws.path('peer-%d.json' % len(self.ws.procs))
        argv = [sysh.peer_path(), '--socket', sock, '--mode', 'txonly', '--verify',
                '--txpkts', '64,1514,300', '--duration', duration, '--cpus', sysh.CPUS[1],
                '--json', jpath] + list(args) + list(extra)
        return self.ws.run('peer', argv, limit=40), jpath

    def run_peer(self, tp, sock, args, **kw):
        """Run the peer to its end against testpmd @tp (forwarding); its totals."""
        mark = tp.mark()
        p, jpath = self.peer(sock, args, **kw)
        self.assertEqual(p.wait(40), 0, 'shmlink-peer failed:\n' + p.tail())
        tp.wait_for(r'detached', 10, mark)
        with open(jpath) as f:
            t = json.load(f)['total']
        self.assertEqual((t['rx_corrupt'], t['rx_foreign'], t['rx_reordered']), (0, 0, 0), t)
        self.assertGreater(t['rx_verified'], MIN_FRAMES, t)
        return t, p.output, tp.output[mark:]

    def forwarder(self, devargs='', fwd='io', args=()):
        sock = self.ws.path('s')
        tp = self.ws.testpmd('testpmd', 'net_shmlink0,socket=%s%s' % (sock, devargs),
                             side=0, fwd=fwd, args=['--no-flush-rx'] + list(args)).ready()
        return tp, sock

    def rx_filled(self, devargs='', peer=()):
        """Rx: the peer sends UDP checksum 0 and says it may; testpmd (no offload) gets
        them filled by the port and sends them back, all valid."""
        tp, sock = self.forwarder(devargs)
        tp.start()
        t, pout, tout = self.run_peer(tp, sock, ['--cksum-offload', 'tx'] + list(peer))
        tp.stop()
        self.assertRegex(tout, r'protocol 1\.1, unfilled checksums: from the peer yes, '
                         r'to the peer no')
        self.assertRegex(pout, r'from us yes, to us no')
        x = tp.xstats()
        # Every frame came in with 0 and went back out with the checksum the port put in.
        self.assertEqual((t['rx_cksum_valid'], t['rx_cksum_none'], t['rx_cksum_bad']),
                         (t['rx_packets'], 0, 0), t)
        self.assertEqual(x['rx_cksum_filled_frames'], tp.port_stats()['rx'])
        self.assertEqual((x['rx_bad_header_frames'], x['rx_cksum_unchecked_frames'],
                          x['tx_bad_offload_frames']), (0, 0, 0), x)
        self.assertEqual(tp.quit(), 0)

    def test_rx_unfilled_checksums_filled_for_an_application_without_the_offload(self):
        self.rx_filled()

    def test_rx_unfilled_checksums_filled_raw_ip_framing(self):
        # Frames that start with the IPv4 header (gVisor's empty LinkAddress).
        self.rx_filled(',framing=ip', ['--framing', 'ip', '--txpkts', '50,1500,300'])

    def test_rx_unfilled_checksums_filled_behind_a_virtio_header(self):
        self.rx_filled(',virtio_hdr=yes', ['--virtio-hdr'])

    def test_rx_refused_offload_leaves_frames_as_they_came(self):
        tp, sock = self.forwarder(',rx_cksum=off')
        tp.start()
        t, _, tout = self.run_peer(tp, sock, ['--cksum-offload', 'tx'])
        tp.stop()
        self.assertRegex(tout, r'from the peer no, to the peer no')
        self.assertEqual((t['rx_cksum_none'], t['rx_cksum_valid']), (t['rx_packets'], 0), t)
        self.assertEqual(tp.xstats()['rx_cksum_filled_frames'], 0)
        self.assertEqual(tp.quit(), 0)

    def test_rx_offload_enabled_gets_l4_none_ip_good_and_packet_types(self):
        tp, sock = self.forwarder(args=['--enable-rx-cksum'], fwd='rxonly')
        tp.cmd('set verbose 1')
        tp.start()
        p, _ = self.peer(sock, ['--cksum-offload', 'tx', '--tx-pps', '200'],
                         duration='1', extra=['--window', '0'])
        p.wait(40)
        tp.stop()
        tp.cmd('set verbose 0')
        # testpmd prints each frame's flags: the UDP frames of the peer.
        lines = re.findall(r'^.*hw ptype:[^\n]*\n(?:[^\n]*\n){0,3}?[^\n]*ol_flags:[^\n]*$',
                           tp.output, re.M)
        self.assertTrue(lines, tp.tail())
        for ln in lines[:20]:
            self.assertIn('L2_ETHER', ln)
            self.assertRegex(ln, r'L3_IPV4\b')
            self.assertIn('L4_UDP', ln)
            self.assertIn('RTE_MBUF_F_RX_L4_CKSUM_NONE', ln)
            self.assertIn('RTE_MBUF_F_RX_IP_CKSUM_GOOD', ln)
        self.assertEqual(tp.xstats()['rx_cksum_filled_frames'], 0)
        self.assertEqual(tp.quit(), 0)

    def tx_case(self, ip, udp, takes, args=(), peer=()):
        """testpmd's csum engine asking the port for the IPv4 (@ip 'hw') and UDP (@udp
        'hw') checksums or computing them itself ('sw'), with testpmd arguments @args,
        against a peer that verifies every checksum or, @takes, says it takes unfilled
        ones (sending @peer). The peer checks every IPv4 header checksum; a UDP one is
        valid unless the port passed it unfilled to a peer that takes it."""
        tp, sock = self.forwarder(args=args)
        self.csum_engine(tp, ip, udp)
        tp.start()
        # The peer fills its UDP checksums; the csum engine keeps or redoes them.
        t, _, tout = self.run_peer(tp, sock, ['--udp-cksum'] + list(peer) +
                                   (['--cksum-offload', 'rx'] if takes else []))
        tp.stop()
        self.assertRegex(tout, r'from the peer no, to the peer %s' % (
            'yes' if takes else 'no'))
        if udp == 'hw' and takes:
            # The pseudo-header sum testpmd left in the field: wrong as a checksum (but
            # for the 1 in 65536 where it happens to be right), which the peer, having
            # said it does not verify, counts without dropping.
            self.assertEqual(t['rx_cksum_bad'] + t['rx_cksum_valid'], t['rx_packets'], t)
            self.assertLess(t['rx_cksum_valid'], t['rx_packets'] / 1000, t)
        else:
            self.assertEqual((t['rx_cksum_valid'], t['rx_cksum_bad']),
                             (t['rx_packets'], 0), t)
        self.assertGreater(t['rx_bytes'], MIN_AVG_LEN * t['rx_packets'], t)
        x = tp.xstats()
        filled = ip == 'hw' or (udp == 'hw' and not takes)
        self.assertEqual(x['tx_cksum_filled_frames'], tp.port_stats()['tx'] if filled else 0,
                         x)
        self.assertEqual(x['tx_bad_offload_frames'], 0)
        self.assertEqual(tp.quit(), 0)

    def csum_engine(self, tp, ip, udp):
        """testpmd's csum engine, asking the port for the IPv4 and UDP checksums."""
        tp.cmd('port stop 0', timeout=20, done=r'Done')
        for proto, how in (('ip', ip), ('udp', udp)):
            out = tp.cmd('csum set %s %s 0' % (proto, how))
            self.assertNotRegex(out, r'(?i)not supported|error', out)
        tp.cmd('port start 0', timeout=20, done=r'Done')
        tp.set_fwd('csum')

    def test_tx_vlan_tagged_checksums_filled(self):
        self.tx_case('hw', 'hw', False, args=SCATTER, peer=VLAN)

    def test_rx_vlan_tagged_unfilled_checksums_filled(self):
        self.rx_filled(peer=VLAN)

    def test_required_offload_missing_means_no_link(self):
        # Listening, the port requires the peer's unfilled checksums; the peer says
        # nothing: the port closes after the ACCEPT and the link never comes up.
        tp, sock = self.forwarder(',rx_cksum=required')
        p, _ = self.peer(sock, ['--connect-timeout', '3'], duration='2')
        tp.wait_for(r'checksum offload required but not agreed: the peer.s Tx', 10)
        p.wait(40)
        self.assertEqual(tp.link_status(), 'down')
        self.assertEqual(tp.quit(), 0)
        # Connecting, the port requires to leave its own unfilled; the listening peer
        # does not take them: the port rejects the offer with reason config.
        sock2 = self.ws.path('s2')
        p, _ = self.peer(sock2, ['--listen', '--connect-timeout', '5'], duration='2')
        sysh.wait_until(lambda: os.path.exists(sock2), 10, 'the peer to listen')
        tp2 = self.ws.testpmd('testpmd2', 'net_shmlink0,socket=%s,listen=no,'
                              'tx_cksum=required' % sock2, side=0).ready()
        p.wait_for(r'rejected the offer \(config\): checksum offload required', 15)
        self.assertEqual(tp2.link_status(), 'down')
        self.assertEqual(tp2.quit(), 0)


def _tx_matrix():
    """Tx: each request (IPv4 and UDP by the port, IPv4 only, UDP only), in one mbuf or a
    chain of three, to a peer that verifies and to one that takes unfilled checksums."""
    for ip, udp in (('hw', 'hw'), ('hw', 'sw'), ('sw', 'hw')):
        for takes in (False, True):
            for chain in (False, True):
                name = 'test_tx_ip_%s_udp_%s_%s_%s' % (
                    ip, udp, 'peer_takes_unfilled' if takes else 'peer_verifies',
                    'mbuf_chains' if chain else 'one_mbuf')
                setattr(OffloadTest, name, lambda self, a=(ip, udp, takes, chain):
                        self.tx_case(a[0], a[1], a[2], args=SCATTER if a[3] else ()))


_tx_matrix()

if __name__ == '__main__':
    sysh.main()
