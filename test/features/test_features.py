#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""The features matrix of net_shmlink (doc/guides/nics/features/shmlink.ini) is true.

Each key the .ini claims is checked against what the driver reports and does, with the
real dpdk-testpmd and app/shmlink-peer; a key this test has no check for fails it, so
the .ini cannot claim anything unchecked. The features the test can probe (stats, link
status and its events, Rx interrupts, scattered Rx, MTU update, queue start/stop,
secondary processes) are
probed whether claimed or not: one the driver supports but the .ini omits fails too.

One testpmd session (a listening port, 640-byte mbufs, scatter enabled) and three peer
runs, plus app test_rxintr for the Rx interrupts. Run as
`test_features.py BUILD_DIR DRIVER_SO [unittest args]`.
"""

import configparser
import json
import os
import platform
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
import shmlink_sys as sysh

INI = os.path.join(SRC, 'doc', 'guides', 'nics', 'features', 'shmlink.ini')
GUIDES = os.path.join(SRC, 'doc', 'guides')

# testpmd's mbufs: 640 bytes with 128 of headroom leave 512 for data, so a 1518-byte
# frame needs three segments.
MBUF_SIZE = 640
BIG_FRAME = 1518
PEER_SECONDS = '1.5'
MIN_FRAMES = 2000
# The MTU set at run time, and a frame that the default MTU (1500) takes but this one
# does not (1400 + 14 bytes of Ethernet header + 2 VLAN tags = 1422 < 1500).
SMALL_MTU = 1400
OVER_SMALL_MTU = 1500
UNDER_SMALL_MTU = 1000

EM_X86_64 = 62


def read_ini(path):
    """The [Features] section: key -> value, keys as written."""
    cp = configparser.ConfigParser(delimiters=('=',), comment_prefixes=(';', '#'),
                                   interpolation=None)
    cp.optionxform = str
    with open(path) as f:
        cp.read_file(f)
    if not cp.has_section('Features'):
        raise AssertionError('%s: no [Features] section' % path)
    extra = [s for s in cp.sections() if s != 'Features']
    if extra:
        raise AssertionError('%s: sections this test cannot check: %s' % (path, extra))
    return dict(cp.items('Features'))



def elf_machine(path):
    with open(path, 'rb') as f:
        head = f.read(20)
    if head[:4] != b'\x7fELF':
        raise AssertionError('%s is not an ELF file' % path)
    return int.from_bytes(head[18:20], 'little' if head[5] == 1 else 'big')


class FeaturesTest(sysh.SysTestCase):

    tag = 'features'

    def run_peer(self, tp, sock, name, argv):
        """Run shmlink-peer against the port for PEER_SECONDS; return its JSON summary
        and the testpmd output written while it ran (until the link went down)."""
        jpath = self.ws.path(name + '.json')
        mark = tp.mark()
        peer = self.ws.run(name, [sysh.peer_path(), '--socket', sock, '--duration', PEER_SECONDS,
                                  '--cpus', sysh.CPUS[1], '--json', jpath,
                                  '--connect-timeout', '10'] + argv, limit=30)
        # The link is up while the peer is attached (polled, not only the event).
        tp.wait_for(r'\battached', 15, mark)
        self.observed['link_up_while_attached'] = True
        try:
            tp.wait_link('up', 5)
        except AssertionError:
            self.observed['link_up_while_attached'] = False
        rc = peer.wait(30)
        self.assertEqual(rc, 0, '%s failed:\n%s' % (name, peer.tail()))
        tp.wait_for(r'detached', 10, mark)
        tp.wait_link('down', 5)
        with open(jpath) as f:
            return json.load(f)['total'], tp.output[mark:]

    def probe(self):
        """Everything the checks need, from one testpmd session and test_rxintr."""
        o = self.observed = {}
        sock = self.ws.path('s')
        tp = self.ws.testpmd('testpmd', 'net_shmlink0,socket=%s' % sock, side=0, fwd='io',
                             args=['--no-flush-rx', '--enable-scatter',
                                   '--mbuf-size=%d' % MBUF_SIZE])
        tp.ready()
        self.assertNotRegex(tp.output, r'Fail to configure port|Start ports failed')

        # Telemetry's /ethdev/info of DPDK 22.11 has no driver name.
        info = tp.cmd('show port info 0', done=r'Driver name:\s*\S+')
        o['driver'] = re.search(r'^Driver name:\s*(\S+)', info, re.M).group(1)
        o['link_down_alone'] = tp.link_status() == 'down'
        capa = tp.cmd('show port 0 rx_offload capabilities', done=r'Per Port')
        o['rx_scatter_capa'] = re.search(r'\bSCATTER\b', capa) is not None
        out = tp.cmd('port 0 rxq 0 stop')
        o['queue_stop'] = not re.search(r'not supported|Invalid|error|fail', out, re.I)
        if o['queue_stop']:
            tp.cmd('port 0 rxq 0 start')

        # 1. testpmd forwards (io) the peer's 1518-byte frames, each spread over three
        # mbufs, back to it; the peer checks every one. Link up, events, stats.
        tp.cmd('clear port stats 0')
        tp.cmd('clear port xstats 0')
        tp.start()
        t, during = self.run_peer(tp, sock, 'peer-big', [
            '--mode', 'txonly', '--verify', '--txpkts', str(BIG_FRAME),
            '--expect-min', str(MIN_FRAMES)])
        fwd = tp.stop()
        o['big'] = t
        o['fwd'] = fwd
        o['lsc_events'] = len(re.findall(r'Port 0: link state change event', during))
        o['stats'] = tp.port_stats()
        o['xstats'] = tp.xstats()

        # 2. MTU 1400 at run time: reported, offered to the next peer, and frames over
        # it are dropped as oversize while smaller ones pass.
        tp.cmd('port stop 0', timeout=20, done=r'Done')
        out = tp.cmd('port config mtu 0 %d' % SMALL_MTU)
        o['mtu_set_error'] = re.search(r'error|fail|not supported|invalid', out, re.I)
        tp.cmd('port start 0', timeout=20, done=r'Done')
        o['mtu_reported'] = tp.telemetry('/ethdev/info,0')['mtu']
        tp.cmd('set fwd rxonly')
        tp.cmd('clear port stats 0')
        tp.cmd('clear port xstats 0')
        tp.start()
        t, _ = self.run_peer(tp, sock, 'peer-mtu', [
            '--mode', 'txonly', '--txpkts', '%d,%d' % (UNDER_SMALL_MTU, OVER_SMALL_MTU),
            '--tx-pps', '20000'])
        tp.stop()
        o['mtu_peer'] = t
        o['mtu_stats'] = tp.port_stats()
        o['mtu_xstats'] = tp.xstats()
        self.assertEqual(tp.quit(), 0, 'testpmd did not exit cleanly')

        self.probe_offloads(o)

        # 3. Rx interrupts, end to end: a receiver sleeping in rte_epoll_wait() is woken
        # for every burst of a peer, and link changes come as LSC events.
        rxintr = self.ws.run('test_rxintr', [
            os.path.join(sysh.BUILD_DIR, 'test', 'rxintr', 'test_rxintr'), sysh.DRIVER,
            '--bursts', '20'], limit=30, stdin=False)
        o['rxintr_rc'] = rxintr.wait(30)
        o['rxintr_out'] = rxintr.tail(2000)
        return o

    def probe_offloads(self, o):
        """4. Checksum offloads and packet types. testpmd enables the Rx checksum
        offloads and forwards with its csum engine, asking the port for the IPv4 and UDP
        checksums; the peer fills its UDP checksums and verifies what comes back. Then a
        few frames in rxonly with verbose output show their packet types."""
        sock = self.ws.path('s-csum')
        tp = self.ws.testpmd('testpmd-csum', 'net_shmlink0,socket=%s' % sock, side=0,
                             fwd='io', args=['--no-flush-rx', '--enable-rx-cksum'])
        tp.ready()
        o['rx_capa'] = tp.cmd('show port 0 rx_offload capabilities', done=r'Per Port')
        o['tx_capa'] = tp.cmd('show port 0 tx_offload capabilities', done=r'Per Port')
        tp.cmd('port stop 0', timeout=20, done=r'Done')
        o['csum_set'] = tp.cmd('csum set ip hw 0') + tp.cmd('csum set udp hw 0')
        tp.cmd('port start 0', timeout=20, done=r'Done')
        tp.set_fwd('csum')
        tp.cmd('clear port xstats 0')
        tp.start()
        o['csum_peer'], _ = self.run_peer(tp, sock, 'peer-csum', [
            '--mode', 'txonly', '--verify', '--udp-cksum', '--txpkts', '64,1514,300'])
        o['csum_fwd'] = tp.cmd('stop', timeout=20, done=r'Done\.')
        o['csum_xstats'] = tp.xstats()
        tp.set_fwd('rxonly')
        tp.cmd('set verbose 1')
        tp.start()
        mark = tp.mark()
        self.run_peer(tp, sock, 'peer-ptypes', ['--mode', 'txonly', '--tx-pps', '100'])
        tp.stop()
        tp.cmd('set verbose 0')
        o['ptype_lines'] = re.findall(r'hw ptype: ([^\n]*)', tp.output[mark:])
        self.assertEqual(tp.quit(), 0, 'testpmd did not exit cleanly')

    def check_l3_checksum_offload(self, o):
        t, x, fwd = o['csum_peer'], o['csum_xstats'], o['csum_fwd']
        ok = ('IPV4_CKSUM' in o['rx_capa'] and 'IPV4_CKSUM' in o['tx_capa'] and
              'not supported' not in o['csum_set'] and
              re.search(r'Bad-ipcsum: 0\b', fwd) is not None and t['rx_verified'] > 0 and
              t['rx_corrupt'] == 0 and x['tx_cksum_filled_frames'] > 0)
        return ok, ('IPV4_CKSUM in Rx and Tx capabilities; csum engine: %s; the peer '
                    'verified %d frames whose IPv4 checksum the port filled (%d)' % (
                        ' '.join(re.findall(r'Bad-ipcsum: \d+', fwd)) or 'no counts',
                        t['rx_verified'], x['tx_cksum_filled_frames']))

    def check_l4_checksum_offload(self, o):
        t, x, fwd = o['csum_peer'], o['csum_xstats'], o['csum_fwd']
        ok = (all(c in o['rx_capa'] and c in o['tx_capa'] for c in ('TCP_CKSUM', 'UDP_CKSUM'))
              and re.search(r'Bad-l4csum: 0\b', fwd) is not None and t['rx_packets'] > 0 and
              t['rx_cksum_valid'] == t['rx_packets'] and t['rx_corrupt'] == 0 and
              x['tx_cksum_filled_frames'] > 0)
        return ok, ('TCP/UDP_CKSUM in Rx and Tx capabilities; Rx checked (%s), %d of %d '
                    'UDP checksums filled on Tx came back valid' % (
                        ' '.join(re.findall(r'Bad-l4csum: \d+', fwd)) or 'no counts',
                        t['rx_cksum_valid'], t['rx_packets']))

    def check_packet_type_parsing(self, o):
        lines = o['ptype_lines']
        ok = len(lines) > 0 and all('L2_ETHER' in ln and 'L3_IPV4' in ln and 'L4_UDP' in ln
                                    for ln in lines)
        return ok, '%d frames received with packet types, such as "%s"' % (
            len(lines), lines[0].strip() if lines else '')

    # Each check returns (supported, evidence). The probed ones run whether claimed or not.

    def check_link_status(self, o):
        ok = o['link_down_alone'] and o['link_up_while_attached']
        return ok, 'show port info: down without a peer, up while one is attached'

    def check_link_status_event(self, o):
        m = re.search(r'lsc up/down (\d+)/(\d+)', o['rxintr_out'])
        ok = o['lsc_events'] >= 2 and m is not None and int(m.group(1)) > 0
        return ok, ('testpmd printed %d "link state change event" lines for a peer '
                    'attaching and leaving; test_rxintr: %s' % (
                        o['lsc_events'], m.group(0) if m else 'no LSC count'))

    def check_rx_interrupt(self, o):
        ok = o['rxintr_rc'] == 0 and 'rxintr: PASS' in o['rxintr_out']
        return ok, 'test_rxintr (rte_eth_dev_rx_intr_enable + rte_epoll_wait) exit %d' % (
            o['rxintr_rc'])

    def check_scattered_rx(self, o):
        t = o['big']
        ok = (o['rx_scatter_capa'] and o['stats']['rx'] > MIN_FRAMES and
              o['stats']['rx'] == t['tx_packets'] and t['rx_verified'] > MIN_FRAMES and
              t['rx_corrupt'] == 0 and o['stats']['rx_errors'] == 0)
        return ok, ('SCATTER in rx_offload capabilities; %d frames of %d bytes received '
                    'into %d-byte mbufs, %d came back intact' % (
                        o['stats']['rx'], BIG_FRAME, MBUF_SIZE, t['rx_verified']))

    def check_basic_stats(self, o):
        s, t = o['stats'], o['big']
        ok = (s['rx'] > 0 and (s['rx'], s['rx_bytes']) == (t['tx_packets'], t['tx_bytes'])
              and (s['tx'], s['tx_bytes']) == (t['rx_packets'], t['rx_bytes']))
        return ok, ('show port stats: rx %d/%d B, tx %d/%d B; the peer sent %d/%d B and '
                    'received %d/%d B' % (s['rx'], s['rx_bytes'], s['tx'], s['tx_bytes'],
                                          t['tx_packets'], t['tx_bytes'], t['rx_packets'],
                                          t['rx_bytes']))

    def check_extended_stats(self, o):
        x = o['xstats']
        # Driver-specific counters besides ethdev's generic ones, and they count.
        own = sorted(k for k in x if k.startswith('peer_'))
        ok = (len(own) > 0 and x.get('peer_attach_count') == 1 and
              x.get('rx_good_packets') == o['stats']['rx'])
        return ok, 'show port xstats: %d driver counters (%s), peer_attach_count %s' % (
            len(own), ', '.join(own), x.get('peer_attach_count'))

    def check_stats_per_queue(self, o):
        x, s = o['xstats'], o['stats']
        ok = (s['rx'] > 0 and x.get('rx_q0_packets') == s['rx'] and
              x.get('tx_q0_packets') == s['tx'] and x.get('rx_q0_bytes') == s['rx_bytes'])
        return ok, 'rx_q0_packets %s tx_q0_packets %s (port: %d, %d)' % (
            x.get('rx_q0_packets'), x.get('tx_q0_packets'), s['rx'], s['tx'])

    def check_mtu_update(self, o):
        t, s, x = o['mtu_peer'], o['mtu_stats'], o['mtu_xstats']
        over = x.get('rx_oversize_frames', -1)
        # The peer alternates the two sizes: every frame received is a small one, and
        # about as many big ones were dropped as oversize (the last burst in flight when
        # the peer left may be lost: a small slack).
        slack = max(2, t['tx_packets'] // 100)
        ok = (o['mtu_set_error'] is None and o['mtu_reported'] == SMALL_MTU and
              s['rx'] > 0 and s['rx_bytes'] == s['rx'] * UNDER_SMALL_MTU and
              over > 0 and abs(over - s['rx']) <= slack and
              t['tx_packets'] - slack <= s['rx'] + over <= t['tx_packets'])
        return ok, ('port config mtu %d: MTU reported %d; of %d frames of %d and %d bytes, '
                    '%d received (%d bytes) and %d dropped as oversize' % (
                        SMALL_MTU, o['mtu_reported'], t['tx_packets'], UNDER_SMALL_MTU,
                        OVER_SMALL_MTU, s['rx'], s['rx_bytes'], over))

    def check_multiprocess_aware(self, o):
        # test/system's own test, which sets up and undoes what multi-process needs (huge
        # pages, a hugetlbfs mount, the driver in the plugin directory): a secondary
        # dpdk-testpmd forwards a queue of the primary's port across peers.
        test = 'MultiProcessTest.test_secondary_forwards_its_queue_across_peers_and_dies_alone'
        p = self.ws.run('multiprocess', [sys.executable, os.path.join(
            SRC, 'test', 'system', 'test_multiprocess.py'), sysh.BUILD_DIR, sysh.DRIVER,
            test], limit=180, stdin=False)
        rc = p.wait(180)
        return rc == 0, 'test_multiprocess.py %s: %s' % (
            test, 'passed' if rc == 0 else 'exit %s\n%s' % (rc, p.tail(1500)))

    def check_queue_start_stop(self, o):
        return o['queue_stop'], 'port 0 rxq 0 stop'

    def check_linux(self, o):
        ok = platform.system() == 'Linux' and o['driver'] == 'net_shmlink'
        return ok, 'the driver ran here, on %s' % platform.system()

    def check_x86_64(self, o):
        m = elf_machine(sysh.DRIVER)
        ok = m == EM_X86_64 and platform.machine() == 'x86_64' and o['driver'] == 'net_shmlink'
        return ok, 'the driver is built for ELF machine %d and ran on %s' % (
            m, platform.machine())

    def doc_check(self, page):
        path = os.path.join(GUIDES, page + '.rst')
        with open(os.path.join(GUIDES, 'index.rst')) as f:
            listed = re.search(r'^\s+%s\s*$' % re.escape(page), f.read(), re.M) is not None
        return os.path.isfile(path) and listed, '%s.rst, in the guides index' % page

    def check_usage_doc(self, o):
        return self.doc_check('nics/shmlink')

    def check_perf_doc(self, o):
        return self.doc_check('perf/benchmark')

    # Key -> check. PROBED: run whether the .ini claims the key or not.
    CHECKS = {
        'Link status': check_link_status,
        'Link status event': check_link_status_event,
        'Rx interrupt': check_rx_interrupt,
        'Queue start/stop': check_queue_start_stop,
        'MTU update': check_mtu_update,
        'Scattered Rx': check_scattered_rx,
        'Basic stats': check_basic_stats,
        'Extended stats': check_extended_stats,
        'Stats per queue': check_stats_per_queue,
        'L3 checksum offload': check_l3_checksum_offload,
        'L4 checksum offload': check_l4_checksum_offload,
        'Packet type parsing': check_packet_type_parsing,
        'Multiprocess aware': check_multiprocess_aware,
        'Linux': check_linux,
        'x86-64': check_x86_64,
        'Usage doc': check_usage_doc,
        'Perf doc': check_perf_doc,
    }
    PROBED = ('Link status', 'Link status event', 'Rx interrupt', 'Queue start/stop',
              'MTU update', 'Scattered Rx', 'Basic stats', 'Extended stats',
              'Stats per queue', 'L3 checksum offload', 'L4 checksum offload',
              'Packet type parsing', 'Multiprocess aware')

    def test_ini_claims_exactly_what_the_driver_does(self):
        claims = read_ini(INI)
        bad_values = {k: v for k, v in claims.items() if v != 'Y'}
        self.assertEqual(bad_values, {}, 'only "Y" is checked')
        unknown = sorted(k for k in claims if k not in self.CHECKS)
        self.assertEqual(unknown, [], 'keys this test cannot check (claim nothing '
                         'unchecked: add a check or remove the key)')
        o = self.probe()
        problems = []
        for key in sorted(set(claims) | set(self.PROBED)):
            ok, evidence = self.CHECKS[key](self, o)
            sys.stderr.write('%-20s claimed %-3s driver %-3s  %s\n' % (
                key, 'yes' if key in claims else 'no', 'yes' if ok else 'no', evidence))
            if key in claims and not ok:
                problems.append('%s: claimed, but the check failed (%s)' % (key, evidence))
            if key not in claims and ok:
                problems.append('%s: the driver supports it (%s) but the .ini omits it' % (
                    key, evidence))
        self.assertEqual(problems, [], '\n'.join(problems))


if __name__ == '__main__':
    sysh.main()
