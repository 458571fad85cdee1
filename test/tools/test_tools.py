#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""The user tools usertools/shmlink-top and usertools/shmlink-sockinfo against a real
dpdk-testpmd with three net_shmlink ports (one listening with a shmlink-peer sending,
one connecting to a listening shmlink-peer, one listening with nobody attached): the
ports, links, peers and rates shmlink-top reports, what shmlink-sockinfo says each
socket is attached to, and both tools' answers once the process is gone, for a missing
path, a regular file, a directory, a stale socket, a process without shmlink ports."""

import json
import os
import signal
import socket
import subprocess
import sys

import shmlink_sys as sysh

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'usertools')
TOP = os.path.join(TOOLS, 'shmlink-top')
SOCKINFO = os.path.join(TOOLS, 'shmlink-sockinfo')

# Frames of shmlink-peer txonly (default --txpkts), as ethdev counts their bytes.
FRAME = 64
PEER_PPS = 20000


def tool(argv, timeout=20, env=None):
    """Run a tool; (exit status, stdout, stderr)."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, stdin=subprocess.DEVNULL,
                       env=None if env is None else dict(os.environ, **env))
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def pids(procs):
    return sorted(p['pid'] for p in procs)


class ToolsTest(sysh.SysTestCase):

    tag = 'tools'

    def peer(self, name, argv):
        exe = sysh.peer_path()
        return self.ws.run(name, [exe] + argv, limit=40)

    def test_top_and_sockinfo_report_live_ports(self):
        s0, s1, s2 = (self.ws.path(n) for n in ('s0', 's1', 's2'))
        # The peer that listens, for the port that connects (port 1).
        pb = self.peer('peer-listening', ['--socket', s1, '--listen', '--mode', 'rxonly',
                                          '--rx-mode', 'interrupt'])
        sysh.wait_until(lambda: os.path.exists(s1), 10, 'shmlink-peer to listen')
        tp = sysh.Testpmd(self.ws, 'testpmd', [
            'net_shmlink0,socket=%s' % s0,
            'net_shmlink1,socket=%s,listen=no' % s1,
            'net_shmlink2,socket=%s' % s2], args=['--port-topology=loop']).ready()
        tp.start()
        pa = self.peer('peer-sending', ['--socket', s0, '--mode', 'txonly', '--verify',
                                        '--tx-pps', str(PEER_PPS), '--duration', '20',
                                        '--cpus', '1'])
        tp.wait_link('up', 15, port=0)
        tp.wait_link('up', 15, port=1)

        # shmlink-top: two reports, half a second each, as JSON lines.
        rc, out, err = tool([TOP, '--json', '--count', '2', '--interval', '0.5',
                             '--file-prefix', tp.prefix])
        self.assertEqual(rc, 0, err)
        reps = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(len(reps), 2, out)
        for rep in reps:
            self.assertEqual(rep['pid'], tp.pid)
            self.assertAlmostEqual(rep['interval'], 0.5, delta=0.3)
            ports = rep['ports']
            self.assertEqual([(p['port'], p['name'], p['socket'], p['mode'], p['link'])
                              for p in ports],
                             [(0, 'net_shmlink0', s0, 'listen', 'up'),
                              (1, 'net_shmlink1', s1, 'connect', 'up'),
                              (2, 'net_shmlink2', s2, 'listen', 'down')], ports)
            self.assertEqual([p['peer_pid'] for p in ports], [pa.pid, pb.pid, None])
            self.assertEqual([p['peer_uid'] for p in ports], [os.getuid()] * 2 + [None])
            p0, p1, p2 = ports
            # Port 0 echoes what the peer sends at PEER_PPS: both directions flow, every
            # frame FRAME bytes long.
            for d in ('rx', 'tx'):
                self.assertGreater(p0[d + '_pps'], PEER_PPS / 20, p0)
                self.assertLess(p0[d + '_pps'], PEER_PPS * 1.5, p0)
                self.assertAlmostEqual(p0[d + '_bps'] / p0[d + '_pps'], FRAME * 8,
                                       delta=0.5)
            self.assertEqual((p0['rx_drop_pps'], p0['tx_drop_pps']), (0, 0), p0)
            for p in (p1, p2):
                self.assertEqual((p['rx_pps'], p['tx_pps'], p['rx_bps'], p['tx_bps']),
                                 (0, 0, 0, 0), p)
            q = p0['queues']['qp0']
            self.assertEqual(q['tx_ring_size'], 256 << 10, q)
            self.assertTrue(0 <= p0['tx_ring_pct'] <= 100, p0)
            self.assertTrue(0 <= p0['return_ring_pct'] <= 100, p0)
            self.assertEqual((p2['queues'], p2['tx_ring_pct']), ({}, None), p2)
        self.assertGreater(reps[1]['ports'][0]['rx_packets'],
                           reps[0]['ports'][0]['rx_packets'])

        # The same process through its socket path, as a table.
        tel = os.path.join('/var/run/dpdk', tp.prefix, 'dpdk_telemetry.v2')
        rc, out, err = tool([TOP, '--once', '--interval', '0.3', '--telemetry-socket', tel])
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 5, out)
        self.assertIn('pid %d' % tp.pid, lines[0])
        self.assertEqual(lines[1].split()[:3], ['PORT', 'NAME', 'LINK'], out)
        self.assertEqual([ln.split()[:4] for ln in lines[2:]],
                         [['0', 'net_shmlink0', 'up', 'listen'],
                          ['1', 'net_shmlink1', 'up', 'connect'],
                          ['2', 'net_shmlink2', 'down', 'listen']], out)
        self.assertNotIn('\033', out)

        # shmlink-sockinfo: who listens, who is connected, which port uses each path.
        rc, out, err = tool([SOCKINFO, '--json', s0, s1, s2])
        self.assertEqual(rc, 0, out + err)
        r0, r1, r2 = json.loads(out)
        self.assertEqual([r['status'] for r in (r0, r1, r2)], ['listening'] * 3)
        self.assertEqual(pids(r0['listeners']), [tp.pid])
        self.assertEqual(len(r0['connections']), 1, r0)
        self.assertEqual(pids(r0['connections'][0]['local']), [tp.pid])
        self.assertEqual(pids(r0['connections'][0]['peer']), [pa.pid])
        self.assertEqual(r0['connections'][0]['peer'][0]['uid'], os.getuid())
        self.assertEqual(pids(r1['listeners']), [pb.pid])
        self.assertEqual(pids(r1['connections'][0]['peer']), [tp.pid])
        self.assertEqual((pids(r2['listeners']), r2['connections']), ([tp.pid], []))
        got = []
        for r in (r0, r1, r2):
            self.assertEqual(len(r['ports']), 1, r)
            pt = r['ports'][0]
            i = pt['info']
            got.append((pt['pid'], i['port'], i['mode'], i['role'], i['link'],
                        i.get('peer_pid'), i['framing'], i['queue_pairs']))
            self.assertEqual(pt['telemetry_socket'], tel)
        self.assertEqual(got, [(tp.pid, 0, 'listen', 'server', 'up', pa.pid, 'eth', 1),
                               (tp.pid, 1, 'connect', 'server', 'up', pb.pid, 'eth', 1),
                               (tp.pid, 2, 'listen', 'server', 'down', None, 'eth', 1)])
        q = r0['ports'][0]['info']['queues']['qp0']
        self.assertEqual((q['tx_ring_size'], q['return_ring_size']), (256 << 10, 256 << 10))

        rc, out, err = tool([SOCKINFO, s0])
        self.assertEqual(rc, 0, out + err)
        self.assertIn('%s: listening, 1 connection(s)' % s0, out)
        self.assertRegex(out, r'listener: +pid %d uid %d \S*dpdk-testpmd' %
                         (tp.pid, os.getuid()))
        self.assertRegex(out, r'peer +pid %d uid %d \S*shmlink-peer' % (pa.pid, os.getuid()))
        self.assertIn('net_shmlink port 0 of pid %d' % tp.pid, out)
        self.assertIn('mode listen, role server, link up, attached', out)

        # The process dies without cleaning up: a running shmlink-top says it lost it,
        # its sockets are stale, its telemetry gone.
        top = self.ws.run('top', [TOP, '--json', '--interval', '0.2', '-f', tp.prefix],
                          limit=30, stdin=False)
        top.wait_for(r'^\{.*\}$', 10)
        pid = tp.pid
        os.kill(pid, signal.SIGKILL)
        tp.wait(10)
        self.assertEqual(top.wait(10), 1, top.tail())
        self.assertRegex(top.output, r'shmlink-top: (lost the DPDK process|the DPDK process) '
                         r'\(pid %d\)' % pid)
        rc, out, err = tool([SOCKINFO, '--json', s0, s2])
        self.assertEqual(rc, 1, out)
        self.assertEqual([(r['status'], r['listeners'], r['ports']) for r in json.loads(out)],
                         [('stale', [], [])] * 2, out)
        rc, out, err = tool([TOP, '--once', '--file-prefix', tp.prefix])
        self.assertEqual((rc, out), (1, ''), err)
        self.assertIn('no DPDK process is running at %s (stale telemetry socket)' % tel, err)

    def test_top_finds_the_only_process_and_refuses_one_without_shmlink_ports(self):
        # A runtime directory of its own (EAL and the tools honour RUNTIME_DIRECTORY), so
        # that without --file-prefix this process is the only one the tool can find.
        env = {'RUNTIME_DIRECTORY': self.ws.path('run')}
        os.mkdir(env['RUNTIME_DIRECTORY'])
        rc, out, err = tool([TOP, '--once'], env=env)
        self.assertEqual((rc, out), (1, ''))
        self.assertIn('no DPDK process with telemetry is running', err)
        tp = sysh.Testpmd(self.ws, 'testpmd-null', ['net_null0'],
                          env=['%s=%s' % kv for kv in env.items()]).ready()
        self.assertTrue(os.path.exists(os.path.join(env['RUNTIME_DIRECTORY'], 'dpdk',
                                                    tp.prefix, 'dpdk_telemetry.v2')))
        rc, out, err = tool([TOP, '--once'], env=env)
        self.assertEqual((rc, out), (1, ''), err)
        self.assertIn('dpdk-testpmd (pid %d) has no net_shmlink port' % tp.pid, err)
        self.assertEqual(tp.quit(), 0)

    def test_errors_and_plain_sockets(self):
        for t in (TOP, SOCKINFO):
            self.assertTrue(os.access(t, os.X_OK), t)
            rc, out, err = tool([t, '--help'])
            self.assertEqual(rc, 0, err)
            self.assertTrue(out.startswith('usage: ' + os.path.basename(t)), out)
        self.assertEqual(tool([SOCKINFO])[0], 2)
        self.assertEqual(tool([TOP, '--count', '0'])[0], 2)

        rc, out, err = tool([TOP, '--once', '--file-prefix', 'shmlink-tools-none-%d' %
                             os.getpid()])
        self.assertEqual((rc, out), (1, ''))
        self.assertIn('no DPDK process is running with telemetry at', err)

        missing, reg, stale, live = (self.ws.path(n) for n in ('missing', 'reg', 'stale',
                                                                'live'))
        with open(reg, 'w'):
            pass
        rc, out, err = tool([TOP, '--once', '--telemetry-socket', reg])
        self.assertEqual((rc, out), (1, ''))
        self.assertIn('is not a socket', err)

        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.bind(stale)           # bound, then closed: the file stays
        rc, out, err = tool([TOP, '--once', '--telemetry-socket', stale])
        self.assertEqual((rc, out), (1, ''))
        self.assertIn('stale telemetry socket', err)

        rc, out, err = tool([SOCKINFO, missing, reg, self.ws.dir, stale])
        self.assertEqual(rc, 1, out + err)
        self.assertIn('%s: no such file' % missing, out)
        self.assertIn('%s: a regular file, not a socket' % reg, out)
        self.assertIn('%s: a directory, not a socket' % self.ws.dir, out)
        self.assertIn('%s: stale socket file: nobody listens on it' % stale, out)
        rc, out, err = tool([SOCKINFO, '--json', missing, reg, stale])
        self.assertEqual([(r['status'], r['kind']) for r in json.loads(out)],
                         [('missing', None), ('not-a-socket', 'regular file'),
                          ('stale', 'socket')])

        # A plain listener and a client, both this process: no DPDK port on the path.
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as ls, \
                socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as cs:
            ls.bind(live)
            ls.listen(1)
            cs.connect(live)
            conn, _ = ls.accept()
            with conn:
                rc, out, err = tool([SOCKINFO, '--json', live])
        self.assertEqual(rc, 0, out + err)
        (r,) = json.loads(out)
        self.assertEqual((r['status'], pids(r['listeners']), r['ports']),
                         ('listening', [os.getpid()], []), r)
        self.assertEqual([(pids(c['local']), pids(c['peer'])) for c in r['connections']],
                         [([os.getpid()], [os.getpid()])], r)
        self.assertEqual(r['listeners'][0]['type'], 'seqpacket')


if __name__ == '__main__':
    sysh.main()
