#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Checksum offloads between gVisor netstacks (control protocol 1.1), on test_tcp.py's
set-up: two stacks on two net_shmlink ports of one dpdk-testpmd in paired io
forwarding. 256 MiB of TCP each way (B to A over IPv4, A to B over IPv6, every byte
checked) once for each offload a stack may ask for: none, TXChecksumOffload,
RXChecksumOffload, both; each stack takes each of the four once, against the other's
opposite. testpmd enables no offload, so the port fills the checksums a stack leaves
unfilled and the other stack, verifying or not, gets valid ones; each port's count of
filled frames says whether its stack left them unfilled."""

import gvharness as gv
from test_tcp import BULK, paired, run_b

OFFLOADS = {'none': [], 'tx': ['-tx-csum-offload'], 'rx': ['-rx-csum-offload'],
            'tx+rx': ['-tx-csum-offload', '-rx-csum-offload']}


class TcpOffloadTest(gv.GvTestCase):

    tag = 'tcp-offload'

    def test_each_checksum_offload_on_each_side(self):
        for oa, ob in (('none', 'tx+rx'), ('tx', 'rx'), ('rx', 'tx'), ('tx+rx', 'none')):
            with self.subTest(a=oa, b=ob):
                self.one_combination(oa, ob)

    def one_combination(self, oa, ob):
        tp, sb, a = paired(self.ws, flags=OFFLOADS[oa])
        self.assertRegex(a.output, r'protocol 1\.1, TXChecksumOffload %s, RXChecksumOffload '
                         r'%s' % ('tx' in oa and 'true' or 'false',
                                  'rx' in oa and 'true' or 'false'))
        out = run_b(self.ws, sb, ['tcp-send', str(BULK), '198.19.1.1:5001'], OFFLOADS[ob])
        self.assertRegex(out, r'%d bytes sent, %d verified by the sink' % (BULK, BULK))
        _, up = gv.parse_rate(out, 'tcp-send')
        m = a.wait_for(r'^tcp-sink: (\d+) bytes from .*, (verified|FAILED.*)$', 30)
        self.assertEqual((int(m.group(1)), m.group(2)), (BULK, 'verified'))
        n, down = gv.parse_rate(run_b(self.ws, sb, ['tcp-recv', str(BULK),
                                                    '[2001:db8:77:1::1]:5002'],
                                      OFFLOADS[ob]), 'tcp-recv')
        self.assertEqual(n, BULK)
        for port, o in ((0, oa), (1, ob)):
            x = tp.xstats(port)
            self.assertEqual(gv.xstat_errors(x), {}, 'port %d' % port)
            self.assertEqual((x['rx_bad_header_frames'], x['tx_bad_offload_frames']), (0, 0))
            filled = x['rx_cksum_filled_frames']
            if 'tx' in o:
                self.assertGreater(filled, BULK // 1500, 'port %d: %s' % (port, x))
            else:
                self.assertEqual(filled, 0, 'port %d' % port)
        self.report('offloads A %s, B %s: TCP 256 MiB B->A %.0f Mbit/s, A->B %.0f Mbit/s' % (
            oa, ob, up, down))
        tp.stop()
        self.assertEqual(tp.quit(), 0)
        a.kill()


if __name__ == '__main__':
    gv.main()
