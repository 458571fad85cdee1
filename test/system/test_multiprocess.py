#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Secondary processes on a net_shmlink port, with Debian's own tools: dpdk-proc-info and
dpdk-dumpcap attach to a dpdk-testpmd primary that forwards (io) for app/shmlink-peer.

  - proc-info's counters and extended counters are testpmd's, at a quiescent point;
  - dumpcap captures N frames both ways; every one is byte for byte a frame the peer
    sent (rebuilt by shmlink.testframe, an oracle apart from the C), in order each way,
    and tshark reads the file;
  - dpdk-pdump writes each direction to a pcap file: the same check;
  - dumpcap killed in the middle of a capture: the primary forwards on and the peer
    verifies every frame;
  - a secondary dpdk-testpmd forwards queue 1 while the primary forwards queue 0
    (--num-procs 2): every frame of both queues comes back; the peer killed and a new one
    attached (fresh files), the secondary forwards again; the secondary killed, the
    primary forwards queue 0 on, and detaches and attaches peers;
  - a secondary before any peer attached sees a port without traffic; one on a primary
    without shared configuration gets EAL's error; one with another build of the
    driver refuses the port; the primary carries on;
  - queue files on huge pages (queue_files=memfd_huge, and a hugetlbfs directory): the
    data regions testpmd maps are huge pages, shmlink-peer verifies every frame, and a
    gVisor stack (gVisor's own sharedmem code, when built) pings through them.

The module, as root, reserves huge pages and mounts a hugetlbfs of its own (a secondary
maps the primary's memory), and puts the driver in EAL's plugin directory (dumpcap has
no -d); it undoes both when it ends."""

import contextlib
import json
import os
import re
import signal
import shutil
import tempfile

import shmlink_sys as sysh
from shmlink import multiproc as mp
from shmlink import pcapng, testframe
from shmlink import testpmd as tpmd

HUGE_DIR = os.path.join(tempfile.gettempdir(), 'shmlink-mp-huge-%d' % os.getpid())
PORT_MAC = '02:00:00:00:5e:01'
PEER_MAC = '02:00:00:00:5e:02'
TXPKTS = '64,1514,300'
CAPTURE = 300
MIN_FRAMES = 1000
# A mempool's per-lcore caches are shared by the processes: no two may use one lcore id
# with a pool. dumpcap and pdump take theirs from their CPU (taskset -c 1: lcore 1), the
# secondary testpmd 2 and 3, the primary these two, on CPU 0.
PRIMARY_LCORES = '4@0,5@0'


class MultiProcessTest(sysh.SysTestCase):

    tag = 'mp'

    def primary(self, shared=True, start=True, queues=1, devargs='', fwd='io'):
        """dpdk-testpmd forwarding (@fwd) on a listening port (more @devargs), with shared
        configuration in huge pages (or, @shared False, the tests' usual --no-shconf);
        with @queues 2, it forwards queue 0 and leaves queue 1 to a secondary."""
        sock = self.ws.path('s-%d' % len(self.ws.procs))
        vdev = 'net_shmlink0,socket=%s,mac=%s,queues=%d%s' % (sock, PORT_MAC, queues,
                                                              devargs)
        if shared:
            eal = ['--no-pci', '--huge-dir', HUGE_DIR, '-m', '256', '--lcores',
                   PRIMARY_LCORES, '--log-level', 'pmd.net.shmlink,info']
            tp = tpmd.Testpmd(self.ws, 'primary', [vdev], eal,
                              ['--total-num-mbufs=%d' % sysh.NB_MBUFS,
                               '--forward-mode=%s' % fwd, '--no-flush-rx'] +
                              self.split(queues, 0),
                              launcher=sysh.testpmd_launcher())
        else:
            tp = self.ws.testpmd('primary', vdev, side=0)
        tp.ready()
        if start:
            tp.start()
        return tp, sock

    @staticmethod
    def split(queues, proc_id):
        """testpmd's arguments to forward one of @queues queues per process."""
        if queues == 1:
            return []
        return ['--rxq=%d' % queues, '--txq=%d' % queues, '--num-procs=%d' % queues,
                '--proc-id=%d' % proc_id]

    def secondary(self, tp, queues=2):
        """dpdk-testpmd as a secondary process of @tp, forwarding queue 1, on lcores
        of its own (per-lcore mempool caches are shared) and the other CPU."""
        eal = ['--proc-type=secondary', '--no-pci', '--lcores', '2@1,3@1', '--log-level',
               'pmd.net.shmlink,info']
        sec = tpmd.Testpmd(self.ws, 'secondary', [], eal,
                           ['--forward-mode=io', '--no-flush-rx'] + self.split(queues, 1),
                           launcher=sysh.testpmd_launcher(), prefix=tp.prefix)
        sec.wait_for(re.escape(tpmd.PROMPT), 30, clean=tpmd.strip_async)
        out = sec.cmd('start', done=r'forwarding packets/burst|packet forwarding - ports')
        self.assertIn('RX P=0/Q=1', out)
        return sec

    def peer(self, sock, duration='2', pps='3000', queues=1, fail_on_errors=True,
             args=()):
        jpath = self.ws.path('peer-%d.json' % len(self.ws.procs))
        argv = [sysh.peer_path(), '--socket', sock, '--mode', 'txonly', '--verify',
                '--txpkts', TXPKTS, '--tx-pps', pps, '--duration', duration,
                '--mac', PEER_MAC, '--cpus', sysh.CPUS[1], '--queues', str(queues),
                '--json', jpath] + (['--fail-on-errors'] if fail_on_errors else []) + list(args)
        p = self.ws.run('peer', argv, limit=60)
        p.json = jpath
        return p

    def per_queue(self, p):
        """Verified frames per queue, from a finished peer's JSON; none corrupt."""
        with open(p.json) as f:
            j = json.load(f)
        t = j['total']
        self.assertEqual((t['rx_corrupt'], t['rx_foreign'], t['rx_reordered']), (0, 0, 0), t)
        return [q['rx_verified'] for q in j['per_queue']]

    def peer_done(self, p, tp, mark):
        self.assertEqual(p.wait(60), 0, 'shmlink-peer failed:\n' + p.tail())
        tp.wait_for(r'detached', 10, mark)
        self.per_queue(p)

    def proc_info(self, tp, what):
        """What dpdk-proc-info -- @what prints on testpmd @tp's port."""
        p = mp.proc_info(self.ws, tp.prefix, [what])
        self.assertEqual(p.popen.returncode, 0, p.tail())
        return p.output

    def dumpcap(self, tp, argv, limit=60):
        env = dict(os.environ, **mp.secondary_env())
        return sysh.Proc(self.ws, 'dumpcap', ['taskset', '-c', sysh.CPUS[1], 'stdbuf', '-o0',
                                              mp.DUMPCAP,
                                              '--file-prefix', tp.prefix, '-i',
                                              'net_shmlink0'] + list(argv),
                         limit, stdin=False, env=env)

    def test_proc_info_shows_testpmd_counters(self):
        tp, sock = self.primary()
        mark = tp.mark()
        self.peer_done(self.peer(sock, duration='1.5'), tp, mark)
        tp.stop()
        want, xwant = tp.port_stats(), tp.xstats()
        self.assertGreater(want['rx'], 1000, want)
        got = mp.parse_stats(self.proc_info(tp, '--stats'))
        for k in got:
            self.assertEqual(got[k], want[k], '%s: proc-info %s, testpmd %s' % (
                k, got, want))
        xgot = mp.parse_xstats(self.proc_info(tp, '--xstats'))
        self.assertEqual(xgot, {k: v for k, v in xwant.items() if k in xgot})
        self.assertEqual(set(xgot), set(xwant))
        self.assertEqual(xgot['peer_attach_count'], 1)
        # The primary is unchanged: it forwards for the next peer.
        tp.start()
        mark = tp.mark()
        self.peer_done(self.peer(sock, duration='0.5'), tp, mark)
        self.assertEqual(tp.quit(), 0)

    def sent_in_order(self, pkts, gaps=False):
        """Check that every packet is a frame the peer sent, byte for byte, in order in
        its direction, none missing unless @gaps; the directions seen."""
        sizes = [int(s) for s in TXPKTS.split(',')]
        last = {}
        for i, pk in enumerate(pkts):
            seq = testframe.seq_of(pk.data)
            self.assertIsNotNone(seq, 'captured frame %d is no test frame' % i)
            self.assertEqual(len(pk.data), sizes[seq % len(sizes)])
            self.assertEqual(pk.data, testframe.frame(seq, len(pk.data), PEER_MAC,
                                                      PORT_MAC),
                             'captured frame %d (seq %d) differs from what the peer sent'
                             % (i, seq))
            if pk.direction in last and gaps:
                self.assertGreater(seq, last[pk.direction], 'out of order, frame %d' % i)
            elif pk.direction in last:
                self.assertEqual(seq, last[pk.direction] + 1, 'out of order, frame %d' % i)
            last[pk.direction] = seq
        return set(last)

    def test_pdump_captures_each_direction(self):
        tp, sock = self.primary()
        rx, tx = self.ws.path('rx.pcap'), self.ws.path('tx.pcap')
        env = dict(os.environ, **mp.secondary_env())
        pd = sysh.Proc(self.ws, 'pdump', ['taskset', '-c', sysh.CPUS[1], 'stdbuf', '-o0',
                                          mp.PDUMP, '--file-prefix', tp.prefix, '--',
                                          '--pdump', 'port=0,queue=*,rx-dev=%s,tx-dev=%s'
                                          % (rx, tx)], 60, stdin=False, env=env)
        pd.wait_for(r'(?i)port 0 .*queue', 30)
        mark = tp.mark()
        self.peer_done(self.peer(sock, duration='1.5'), tp, mark)
        pd.signal(signal.SIGINT)
        self.assertEqual(pd.wait(30), 0, pd.tail())
        # pdump's own ring and pool may drop a few under load: frames missing from the
        # file, counted in its statistics, not an error of the port (the peer got all).
        for path in (rx, tx):
            pkts = pcapng.pcap_packets(path)
            self.assertGreater(len(pkts), MIN_FRAMES, path)
            self.sent_in_order(pkts, gaps=True)

    def test_dumpcap_captures_what_the_peer_sent(self):
        tp, sock = self.primary()
        pcap = self.ws.path('cap.pcapng')
        dc = self.dumpcap(tp, ['-c', str(CAPTURE), '-w', pcap])
        dc.wait_for(r'Capturing on', 30)
        mark = tp.mark()
        p = self.peer(sock)
        self.assertEqual(dc.wait(40), 0, 'dumpcap failed:\n' + dc.tail())
        self.peer_done(p, tp, mark)
        pkts = pcapng.packets(pcap)
        # dumpcap stops after the batch that reaches the count.
        self.assertGreaterEqual(len(pkts), CAPTURE)
        for pk in pkts:
            self.assertIn(pk.direction, (pcapng.INBOUND, pcapng.OUTBOUND))
        self.assertEqual(self.sent_in_order(pkts), {pcapng.INBOUND, pcapng.OUTBOUND})
        if shutil.which('tshark'):
            t = self.ws.run('tshark', ['tshark', '-r', pcap, '-T', 'fields', '-e',
                                       'udp.dstport'], stdin=False)
            self.assertEqual(t.wait(60), 0, t.tail())
            self.assertEqual(t.output.split().count('9'), len(pkts), t.tail())
        self.assertEqual(tp.quit(), 0)

    def test_dumpcap_killed_leaves_primary_and_peer_working(self):
        tp, sock = self.primary()
        dc = self.dumpcap(tp, ['-w', self.ws.path('cap.pcapng')])
        dc.wait_for(r'Capturing on', 30)
        mark = tp.mark()
        p = self.peer(sock, duration='2.5')
        sysh.wait_until(lambda: tp.port_stats()['rx'] > 500, 20, 'traffic')
        dc.kill()
        self.peer_done(p, tp, mark)
        self.assertEqual(tp.port_stats()['rx'], tp.port_stats()['tx'])
        mark = tp.mark()
        self.peer_done(self.peer(sock, duration='0.5'), tp, mark)
        self.assertEqual(tp.quit(), 0)

    def wait_q1_traffic(self, tp):
        """Until the secondary forwarded MIN_FRAMES more on queue 1."""
        base = tp.xstats()['tx_q1_packets']
        sysh.wait_until(lambda: tp.xstats()['tx_q1_packets'] > base + MIN_FRAMES, 20,
                        'traffic on queue 1')

    def test_secondary_forwards_its_queue_across_peers_and_dies_alone(self):
        tp, sock = self.primary(queues=2)
        sec = self.secondary(tp)
        # Queue information from shared memory, in either process.
        for t in (tp, sec):
            out = t.cmd('show rxq info 0 1') + t.cmd('show txq info 0 1')
            self.assertRegex(out, r'Mempool: mb_pool_0')
            self.assertRegex(out, r'Number of RXDs: [1-9]')
            self.assertRegex(out, r'Number of TXDs: [1-9]')
        for attempt in range(2):
            mark = tp.mark()
            p = self.peer(sock, queues=2)
            self.peer_done(p, tp, mark)
            q0, q1 = self.per_queue(p)
            self.assertGreater(min(q0, q1), MIN_FRAMES, 'peer %d: verified per queue %s'
                               % (attempt, (q0, q1)))
            # The second peer after one killed mid-traffic: new files, mapped again.
            if attempt == 0:
                mark = tp.mark()
                k = self.peer(sock, queues=2, duration='5')
                self.wait_q1_traffic(tp)
                k.kill()
                tp.wait_for(r'detached', 10, mark)
        self.assertNotRegex(sec.output, r'cannot map')
        # The secondary killed while it forwards: the primary and the peer go on.
        mark = tp.mark()
        p = self.peer(sock, queues=2, duration='3', fail_on_errors=False)
        self.wait_q1_traffic(tp)
        sec.kill()
        self.assertEqual(p.wait(60), 0, p.tail())
        tp.wait_for(r'detached', 10, mark)
        q0, _ = self.per_queue(p)
        self.assertGreater(q0, 2 * MIN_FRAMES)
        mark = tp.mark()
        p = self.peer(sock, queues=2, duration='1', fail_on_errors=False)
        self.assertEqual(p.wait(60), 0, p.tail())
        tp.wait_for(r'detached', 10, mark)
        self.assertGreater(self.per_queue(p)[0], MIN_FRAMES)
        self.assertEqual(tp.quit(), 0)

    def test_secondary_copies_on_a_lending_port(self):
        # zero_copy=rx: the primary lends what queue 0 receives; the secondary's burst on
        # queue 1 copies (lent mbufs must be freed by the primary's code) and gives the
        # frames back at once. Every frame of both queues comes back to the peer.
        tp, sock = self.primary(queues=2, devargs=',zero_copy=rx')
        self.secondary(tp)
        mark = tp.mark()
        p = self.peer(sock, queues=2)
        self.peer_done(p, tp, mark)
        q0, q1 = self.per_queue(p)
        self.assertGreater(min(q0, q1), MIN_FRAMES, (q0, q1))
        x = tp.xstats()
        self.assertEqual(sysh.xstat_errors(x), {})
        self.assertGreaterEqual(x['rx_zero_copy_copied_frames'], x['rx_q1_packets'], x)
        self.assertGreater(x['rx_zero_copy_frames'], 0, x)
        self.assertEqual(x['rx_zero_copy_frames'] + x['rx_zero_copy_copied_frames'],
                         x['rx_good_packets'], x)
        self.assertEqual(tp.quit(), 0)

    def test_secondary_before_any_peer(self):
        tp, _ = self.primary(start=False)
        self.assertEqual(set(mp.parse_stats(self.proc_info(tp, '--stats')).values()), {0})
        x = mp.parse_xstats(self.proc_info(tp, '--xstats'))
        self.assertEqual(x['peer_attach_count'], 0)
        self.assertEqual(tp.link_status(), 'down')
        self.assertEqual(tp.quit(), 0)

    def test_secondary_of_another_driver_build(self):
        # The driver built with its shared state laid out otherwise, loaded first with
        # -d (the installed copy then stays unused): it must not read the port.
        other = os.path.join(sysh.BUILD_DIR, 'test', 'system', 'skewed', mp.PMD)
        tp, sock = self.primary()
        p = sysh.Proc(self.ws, 'proc-info', [mp.PROC_INFO, '--file-prefix', tp.prefix,
                                            '--no-pci', '-d', other, '--', '--stats'], 60,
                      stdin=False)
        p.wait(60)
        self.assertGreaterEqual(p.popen.returncode, 0, 'killed by a signal:\n' + p.tail())
        self.assertRegex(p.output, r'made by another build of net_shmlink')
        self.assertNotRegex(p.output, r'RX-packets')
        mark = tp.mark()
        self.peer_done(self.peer(sock, duration='0.5'), tp, mark)
        self.assertEqual(tp.quit(), 0)

    def test_primary_without_shared_config(self):
        # EAL's error; dpdk-proc-info then panics (its own way out), dumpcap exits.
        tp, _ = self.primary(shared=False, start=False)
        for p in (mp.proc_info(self.ws, tp.prefix, ['--stats']),
                  self.dumpcap(tp, ['-c', '1', '-w', self.ws.path('none.pcapng')])):
            p.wait(60)
            self.assertNotEqual(p.popen.returncode, 0, p.tail())
            self.assertRegex(p.output, r"Cannot open '[^']*/config' for rte_mem_config")
        self.assertEqual(tp.link_status(), 'down')
        self.assertEqual(tp.quit(), 0)


    def huge_data_maps(self, pid):
        """testpmd's mappings of queue data regions on huge pages: mappings of the
        listening port's data size (8 MiB) whose pages are huge, other than EAL's own."""
        want = sysh.LISTEN_DATA_SIZE >> 10
        n, name, size = 0, '', 0
        with open('/proc/%d/smaps' % pid) as f:
            for line in f:
                m = re.match(r'^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$', line)
                if m:
                    name = m.group(1)
                elif line.startswith('Size:'):
                    size = int(line.split()[1])
                elif line.startswith('KernelPageSize:'):
                    n += (int(line.split()[1]) >= 2048 and size == want and
                          'rtemap' not in name)
        return n

    def test_queue_files_on_huge_pages(self):
        gvpeer = os.path.join(sysh.BUILD_DIR, 'app', 'gvisor-peer', 'shmlink-gvisor-peer')
        for where in ('memfd_huge', HUGE_DIR):
            with self.subTest(queue_files=where):
                tp, sock = self.primary(devargs=',queue_files=' + where)
                mark = tp.mark()
                # Files in a directory cannot be sealed: our peer must be told to take
                # them (gVisor's does not look).
                p = self.peer(sock, duration='1.5', args=['--allow-unsealed'] if
                              where.startswith('/') else [])
                tp.wait_for(r'attached', 15, mark)
                # One queue pair: the TX and the RX data region.
                self.assertEqual(self.huge_data_maps(tp.pid), 2, where)
                self.peer_done(p, tp, mark)
                self.assertEqual(sysh.xstat_errors(tp.xstats()), {})
                self.assertEqual(tp.quit(), 0)
                if not os.path.exists(gvpeer):
                    continue
                # gVisor's own code maps them: a stack pings testpmd's icmpecho.
                tp, sock = self.primary(devargs=',queue_files=' + where, fwd='icmpecho')
                g = sysh.Proc(self.ws, 'gvisor', ['taskset', '-c', sysh.CPUS[1], gvpeer,
                                                  '-socket', sock, '-wait', '20s', '-addr',
                                                  '198.19.9.2/24', 'ping', '-c', '200',
                                                  '-W', '2s', '198.19.9.1'], 60, stdin=False)
                self.assertEqual(g.wait(60), 0, g.tail())
                self.assertRegex(g.output, r'200 sent, 200 received, 0 lost')
                self.assertEqual(tp.quit(), 0)


@contextlib.contextmanager
def _setup():
    if os.geteuid() != 0:
        raise SystemExit('needs root: reserves huge pages, mounts hugetlbfs and puts the '
                         'driver in the plugin directory')
    with mp.HugePages(HUGE_DIR), mp.PluginInstall(sysh.DRIVER):
        yield


if __name__ == '__main__':
    sysh.main(_setup)
