#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Devargs of net_shmlink: every bad value refuses the probe with a log line naming the
key, the value and what is allowed, leaves no port, no FD and no socket file; a socket
path in use by a live listener is refused and left alone; a stale one is replaced.

The probes run in shmlink_probe (built next to this file), which calls rte_vdev_init()
for each devargs string in one EAL process and reports the port count and its open FDs
before and after each probe."""

import os
import re
import stat
import socket
import shmlink_sys as sysh

CASE_END = re.compile(r'^CASE (\d+) END rc=(-?\d+) ports=(\d+) fds_before=(\d+) '
                      r'fds_after=(\d+)$', re.M)


def probe_argv(ws, devargs, hold=False, vdevs=()):
    exe = os.path.join(sysh.BUILD_DIR, 'test', 'system', 'shmlink_probe')
    return ([exe] + sysh.eal_args(ws.prefix('probe'), vdevs) + ['--'] +
            (['--hold'] if hold else []) + list(devargs))


def run_probe(ws, devargs, vdevs=()):
    """Run the probes to the end; return (output, {case index: result dict})."""
    p = ws.run('probe', probe_argv(ws, devargs, vdevs=vdevs), limit=30, stdin=False)
    rc = p.wait(40)
    out = p.output
    if rc != 0:
        raise AssertionError('shmlink_probe exited %d:\n%s' % (rc, out[-4000:]))
    return out, parse_cases(out)


def parse_cases(out):
    res = {}
    for m in CASE_END.finditer(out):
        i, rc, ports, fb, fa = (int(v) for v in m.groups())
        begin = out.rindex('CASE %d BEGIN' % i, 0, m.start())
        res[i] = {'rc': rc, 'ports': ports, 'fds_before': fb, 'fds_after': fa,
                  'log': out[begin:m.start()]}
    return res


class DevargsTest(sysh.SysTestCase):

    tag = 'devargs'

    def test_every_bad_value_is_refused_with_its_key_value_and_allowed_values(self):
        d = self.ws.dir
        sock = self.ws.path('s')
        long_path = os.path.join(d, 'x' * (108 - len(d)))
        ints = r'invalid, allowed: an integer from %d to %d'
        # (devargs after the device name, what the log line must say)
        cases = [
            ('queues=1', r'net_shmlink\w*: the socket=PATH argument is required'),
            ('socket=' + long_path,
             re.escape('socket=' + long_path) + r': invalid, allowed: a path of 1 to 107 '
             r'bytes'),
            ('socket=', r'socket=: invalid, allowed: a path of 1 to 107 bytes'),
            ('socket=%s,listen=maybe' % sock, r'listen=maybe: invalid, allowed: yes or no'),
            ('socket=%s,role=boss' % sock, r'role=boss: invalid, allowed: server or client'),
            ('socket=%s,mac=zz' % sock, r'mac=zz: invalid, allowed: a unicast MAC address'),
            ('socket=%s,mac=01:00:5e:00:00:01' % sock,
             r'mac=01:00:5e:00:00:01: invalid, allowed: a unicast MAC address'),
            ('socket=%s,mac=ff:ff:ff:ff:ff:ff' % sock,
             r'mac=ff:ff:ff:ff:ff:ff: invalid, allowed: a unicast MAC address'),
            ('socket=%s,mac=00:00:00:00:00:00' % sock,
             r'mac=00:00:00:00:00:00: invalid, allowed: a unicast MAC address'),
            ('socket=%s,mtu=10' % sock, r'mtu=10: ' + ints % (68, 65000)),
            ('socket=%s,mtu=70000' % sock, r'mtu=70000: ' + ints % (68, 65000)),
            ('socket=%s,mtu=abc' % sock, r'mtu=abc: ' + ints % (68, 65000)),
            ('socket=%s,mtu=-1500' % sock, r'mtu=-1500: ' + ints % (68, 65000)),
            ('socket=%s,mtu=1500x' % sock, r'mtu=1500x: ' + ints % (68, 65000)),
            ('socket=%s,buffer_size=1' % sock, r'buffer_size=1: ' + ints % (128, 1 << 20)),
            ('socket=%s,buffer_size=2097152' % sock,
             r'buffer_size=2097152: ' + ints % (128, 1 << 20)),
            ('socket=%s,data_size=1024' % sock, r'data_size=1024: ' + ints % (4096, 1 << 30)),
            ('socket=%s,data_size=2147483648' % sock,
             r'data_size=2147483648: ' + ints % (4096, 1 << 30)),
            ('socket=%s,buffer_size=8192,data_size=4096' % sock,
             r'data_size=4096 is smaller than buffer_size=8192'),
            ('socket=%s,pipe_size=16' % sock, r'pipe_size=16: ' + ints % (4096, 1 << 30)),
            ('socket=%s,pipe_size=4294967296' % sock,
             r'pipe_size=4294967296: ' + ints % (4096, 1 << 30)),
            ('socket=%s,queues=0' % sock, r'queues=0: ' + ints % (1, 16)),
            ('socket=%s,queues=17' % sock, r'queues=17: ' + ints % (1, 16)),
            ('socket=%s,framing=x' % sock, r'framing=x: invalid, allowed: eth or ip'),
            ('socket=%s,virtio_hdr=x' % sock, r'virtio_hdr=x: invalid, allowed: yes or no'),
            ('socket=%s,trim=x' % sock, r'trim=x: invalid, allowed: auto, on or off'),
            ('socket=%s,rx_cksum=yes' % sock,
             r'rx_cksum=yes: invalid, allowed: auto, off or required'),
            ('socket=%s,tx_cksum=' % sock, r'tx_cksum=: invalid, allowed: auto, off or required'),
            ('socket=%s,allow_unsealed=x' % sock,
             r'allow_unsealed=x: invalid, allowed: yes or no'),
            ('socket=%s,socket_mode=0400' % sock,
             r'socket_mode=0400: invalid, allowed: an octal mode up to 0777 that gives the '
             r'owner read and write'),
            ('socket=%s,socket_mode=9' % sock, r'socket_mode=9: invalid, allowed: an octal'),
            ('socket=%s,socket_group=no-such-group-xyz' % sock,
             r'socket_group=no-such-group-xyz: invalid, allowed: a group name or numeric gid'),
            ('socket=%s,allow_uid=abc' % sock,
             r'allow_uid=abc: invalid, allowed: up to 16 numeric ids separated by \':\''),
            ('socket=%s,allow_gid=1::2' % sock,
             r'allow_gid=1::2: invalid, allowed: up to 16 numeric ids'),
            ('socket=%s,signal_delay_us=10001' % sock,
             r'signal_delay_us=10001: ' + ints % (0, 10000)),
            ('socket=%s,signal_delay_us=-1' % sock, r'signal_delay_us=-1: ' + ints % (0, 10000)),
            ('socket=%s,signal_batch=0' % sock, r'signal_batch=0: ' + ints % (1, 65535)),
            ('socket=%s,signal_batch=65536' % sock, r'signal_batch=65536: ' + ints % (1, 65535)),
            ('socket=%s,rx_evict=65536' % sock, r'rx_evict=65536: ' + ints % (0, 65535)),
            ('socket=%s,rx_evict=yes' % sock, r'rx_evict=yes: ' + ints % (0, 65535)),
            ('socket=%s,zero_copy=tx' % sock,
             r'zero_copy=tx needs role=client: a server sends into the buffers the client '
             r'posts, so it always copies'),
            ('socket=%s,zero_copy=yes,role=server,listen=no' % sock,
             r'zero_copy=yes needs role=client'),
            ('socket=%s,zero_copy=on' % sock,
             r'zero_copy=on: invalid, allowed: rx, tx, yes or no'),
            ('socket=%s,queue_files=shm' % sock,
             r'queue_files=shm: invalid, allowed: memfd, memfd_huge or the absolute path of '
             r'a directory'),
            ('socket=%s,queue_files=/proc' % sock,
             r'queue_files=/proc: the directory is on neither a tmpfs nor a hugetlbfs'),
            ('socket=%s,queue_files=/nonexistent-shmlink' % sock,
             r'queue_files=/nonexistent-shmlink: cannot look at the directory'),
            ('socket=%s,queue_files=memfd_huge,data_size=1052672' % sock,
             r'data_size=1052672 is not a multiple of the huge page size, \d+ bytes '
             r'\(queue_files\)'),
            ('socket=%s,foo=1' % sock,
             r'cannot parse "socket=\S+,foo=1"; the keys are: socket, listen, role, mac, '
             r'mtu, buffer_size, data_size, pipe_size, queues, framing, virtio_hdr, trim, '
             r'allow_unsealed, socket_mode, socket_group, allow_uid, allow_gid, '
             r'signal_delay_us, signal_batch, rx_evict, rx_cksum, tx_cksum, zero_copy, '
             r'queue_files'),
            ('socket=%s' % os.path.join(d, 'no-such-dir', 's'),
             r'socket=\S+/no-such-dir/s: cannot listen: No such file or directory'),
        ]
        devargs = ['net_shmlink_c%d,%s' % (i, a) for i, (a, _) in enumerate(cases)]
        # Then good ones, at the edges of what is allowed: failures leave the driver able
        # to probe, and each good port has its socket until it is closed.
        path_107 = os.path.join(d, 'y' * (107 - len(d) - 1))
        goods = [
            'socket=%s' % sock,
            'socket=%s' % path_107,
            'socket=%s,listen=yes,role=client,mac=02:00:00:00:00:01,mtu=68,buffer_size=128,'
            'data_size=4096,pipe_size=4096,queues=16,framing=ip,virtio_hdr=yes,trim=on'
            % self.ws.path('g1'),
            'socket=%s,listen=1,role=server,mtu=65000,buffer_size=1048576,'
            'data_size=1073741824,pipe_size=1073741824,queues=1,framing=eth,virtio_hdr=0,'
            'trim=off' % self.ws.path('g2'),
            'socket=%s,listen=no,trim=auto' % self.ws.path('g3'),
            'socket=%s,socket_mode=0660,socket_group=0,allow_uid=0:1000,allow_gid=0,'
            'allow_unsealed=no,signal_delay_us=0,signal_batch=1' % self.ws.path('g4'),
            'socket=%s,signal_delay_us=10000,signal_batch=65535,rx_evict=65535'
            % self.ws.path('g5'),
            'socket=%s,rx_evict=0,zero_copy=rx' % self.ws.path('g6'),
            'socket=%s,zero_copy=no,queue_files=/dev/shm' % self.ws.path('g7'),
            'socket=%s,queue_files=memfd_huge' % self.ws.path('g8'),
            'socket=%s,queue_files=memfd' % self.ws.path('g9'),
            'socket=%s,role=client,zero_copy=tx' % self.ws.path('g10'),
            'socket=%s,role=client,zero_copy=yes' % self.ws.path('g11'),
            # Connecting without role=: the role the listener says decides.
            'socket=%s,listen=no,zero_copy=yes' % self.ws.path('g12'),
        ]
        devargs += ['net_shmlink_g%d,%s' % (i, a) for i, a in enumerate(goods)]
        out, res = run_probe(self.ws, devargs)
        eal_fds = int(re.search(r'^EAL ports=0 fds=(\d+)$', out, re.M).group(1))
        for i, (args, want) in enumerate(cases):
            with self.subTest(devargs=args):
                r = res.get(i + 1)
                self.assertIsNotNone(r, 'no result for case %d' % (i + 1))
                self.assertLess(r['rc'], 0, 'probe succeeded: %s' % r['log'])
                self.assertEqual(r['ports'], 0, 'a port exists after a failed probe')
                self.assertEqual(r['fds_after'], r['fds_before'], 'FDs leaked')
                self.assertRegex(r['log'], want)
                self.assertFalse(os.path.lexists(sock), 'socket file left behind')
        for i, args in enumerate(goods):
            with self.subTest(devargs=args):
                r = res[len(cases) + 1 + i]
                self.assertEqual((r['rc'], r['ports']), (0, i + 1), r['log'])
                if i == 0:
                    self.assertEqual(r['fds_before'], eal_fds)
        for p in (sock, path_107, self.ws.path('g1'), self.ws.path('g2'), self.ws.path('g4')):
            self.assertRegex(out, r'listening on %s as' % re.escape(p))
        self.assertRegex(out, r'connecting to %s as' % re.escape(self.ws.path('g3')))
        # Closing the ports removes their sockets and closes their FDs.
        m = re.search(r'^CLOSED ports=(\d+) fds=(\d+)$', out, re.M)
        self.assertEqual((int(m.group(1)), int(m.group(2))), (0, eal_fds))
        self.assertEqual(os.listdir(d), [], 'files left after close')

    def test_bad_devarg_at_eal_init_leaves_no_port(self):
        sock = self.ws.path('s')
        out, _ = run_probe(self.ws, [],
                           vdevs=['net_shmlink0,socket=%s,mtu=10' % sock])
        self.assertRegex(out, r'mtu=10: invalid, allowed: an integer from 68 to 65000')
        self.assertRegex(out, r'(?m)^EAL ports=0 ', 'a port exists after a failed probe')
        self.assertFalse(os.path.lexists(sock))

    def hold(self, name, devargs):
        """A shmlink_probe process holding its probed ports until closed."""
        p = self.ws.run(name, probe_argv(self.ws, devargs, hold=True), limit=60)
        p.wait_for(r'^HOLDING$', 15)
        return p, parse_cases(p.output)

    def offer_from(self, path):
        """Connect to @path as a peer; return the listener's first OFFER."""
        with sysh.unix_seqpacket() as s:
            s.connect(path)
            m, fds = sysh.ctl_recv(s, 5)
            sysh.close_fds(fds)
        self.assertIsNotNone(m, 'the listener closed without an offer')
        self.assertEqual((m['magic'], m['type']), (sysh.CTL_MAGIC, sysh.CTL_OFFER))
        return m

    def release(self, p):
        p.close_stdin()
        self.assertEqual(p.wait(20), 0)
        return re.search(r'^CLOSED ports=(\d+) fds=(\d+)$', p.output, re.M)

    def test_socket_access_control(self):
        # 0600 by default; socket_mode and socket_group widen it; a peer outside the
        # allow-lists is refused with reason "denied" and a log line, and nothing else
        # happens (the port is not attached).
        s_default, s_open, s_deny, s_allow = (self.ws.path(n) for n in ('a', 'b', 'c', 'd'))
        uid, gid = os.getuid(), os.getgid()
        p, r = self.hold('acl', [
            'net_shmlink0,socket=%s' % s_default,
            'net_shmlink1,socket=%s,socket_mode=0660,socket_group=%d' % (s_open, gid),
            'net_shmlink2,socket=%s,allow_uid=%d,allow_gid=%d' % (s_deny, uid + 4242,
                                                                   gid + 4242),
            'net_shmlink3,socket=%s,allow_uid=%d:%d' % (s_allow, uid + 4242, uid),
        ])
        for i in range(1, 5):
            self.assertEqual(r[i]['rc'], 0, r[i]['log'])
        self.assertEqual(stat.S_IMODE(os.stat(s_default).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(s_open).st_mode), 0o660)
        self.assertEqual(os.stat(s_open).st_gid, gid)
        with sysh.unix_seqpacket() as c:
            c.connect(s_deny)
            m, fds = sysh.ctl_recv(c, 5)
            sysh.close_fds(fds)
        self.assertIsNotNone(m, 'a refused peer got no answer')
        self.assertEqual((m['type'], m['reason'], fds), (sysh.CTL_REJECT, sysh.R_DENIED, []))
        self.assertEqual(m['text'], 'uid %d gid %d is not allowed' % (uid, gid))
        p.wait_for(r'%s: refused peer pid \d+ uid %d gid %d: not in allow_uid/allow_gid' %
                   (re.escape(s_deny), uid, gid), 5)
        self.assertEqual(self.offer_from(s_allow)['type'], sysh.CTL_OFFER)
        self.release(p)
        for path in (s_default, s_open, s_deny, s_allow):
            self.assertFalse(os.path.lexists(path))

    def test_live_listener_keeps_its_socket(self):
        sock = self.ws.path('s')
        first, r = self.hold('first', ['net_shmlink0,socket=%s,mac=02:00:00:00:00:0a' % sock])
        self.assertEqual((r[1]['rc'], r[1]['ports']), (0, 1), first.output)
        self.assertEqual(self.offer_from(sock)['mac'], bytes.fromhex('02000000000a'))

        out, res = run_probe(self.ws, ['net_shmlink1,socket=%s,mac=02:00:00:00:00:0b' % sock])
        r = res[1]
        self.assertLess(r['rc'], 0, r['log'])
        self.assertEqual(r['ports'], 0)
        self.assertEqual(r['fds_after'], r['fds_before'])
        self.assertRegex(r['log'], r'socket=%s: another process is listening on it' %
                         re.escape(sock))
        # Still there, and still the first process's.
        self.assertTrue(os.path.exists(sock), 'the refused probe removed the live socket')
        self.assertEqual(self.offer_from(sock)['mac'], bytes.fromhex('02000000000a'))
        self.release(first)
        self.assertFalse(os.path.lexists(sock))

    def test_stale_socket_file_is_replaced(self):
        sock = self.ws.path('s')
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.bind(sock)
        s.close()       # the file stays; nobody listens
        self.assertTrue(os.path.exists(sock))
        p, r = self.hold('stale', ['net_shmlink0,socket=%s,mac=02:00:00:00:00:0c' % sock])
        self.assertEqual((r[1]['rc'], r[1]['ports']), (0, 1), p.output)
        self.assertEqual(self.offer_from(sock)['mac'], bytes.fromhex('02000000000c'))
        self.release(p)
        self.assertFalse(os.path.lexists(sock))

    def test_socket_path_that_is_a_directory_is_refused_and_kept(self):
        path = self.ws.path('dir')
        os.mkdir(path)
        out, res = run_probe(self.ws, ['net_shmlink0,socket=%s' % path])
        r = res[1]
        self.assertLess(r['rc'], 0, r['log'])
        self.assertEqual((r['ports'], r['fds_after']), (0, r['fds_before']))
        self.assertRegex(r['log'], r'socket=%s: ' % re.escape(path))
        self.assertTrue(os.path.isdir(path))

    def test_socket_path_that_is_a_regular_file_is_refused_and_kept(self):
        # A typo in socket= must not cost the user a file: only a socket nobody listens
        # on is stale.
        path = self.ws.path('precious.txt')
        with open(path, 'w') as f:
            f.write('keep me\n')
        p, r = self.hold('regular', ['net_shmlink0,socket=%s' % path])
        try:
            self.assertTrue(os.path.isfile(path),
                            'the probe removed a regular file at the socket path')
            with open(path) as f:
                self.assertEqual(f.read(), 'keep me\n')
            self.assertLess(r[1]['rc'], 0, 'the probe took over a regular file: %s' %
                            r[1]['log'])
            self.assertEqual(r[1]['ports'], 0)
            self.assertRegex(r[1]['log'], r'socket=%s: .*not a .*socket' % re.escape(path))
        finally:
            self.release(p)


if __name__ == '__main__':
    sysh.main()
