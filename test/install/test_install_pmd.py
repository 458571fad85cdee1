#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""meson install: the driver lands where EAL loads drivers without -d; uninstall leaves
nothing behind.

usage: test_install_pmd.py BUILD_DIR SOURCE_DIR [unittest args]

test_1: `meson install --destdir` of the build into a staging tree: the driver is one
plain file in <staging>/<the plugin directory compiled into the EAL that dpdk-testpmd
loads>, with no dependency on libshmlink; libshmlink is there with its soname, headers
and a libshmlink.pc that builds a program against the staged tree; the programs run.
Meson's uninstall then empties the staging tree, and after two installs (when meson's
log has lost the directories of the first) usertools/shmlink-uninstall does.

test_2 (root only): the acceptance check for real. `meson install` into the system;
then dpdk-testpmd with no -d and no LD_LIBRARY_PATH attaches to the installed
shmlink-peer (txonly --verify) and forwards every frame back; then with -d of the build
tree's driver as well, the second copy stays inert and the port still forwards and
answers telemetry; then meson's uninstall, after which every directory on the way to an
installed file lists exactly as before. Runs under an exclusive lock
(/run/lock/shmlink-install-test.lock, shared by every checkout on the machine), and
whatever happens removes the installed files again (usertools/shmlink-uninstall), so that
no other DPDK process on the machine finds the driver in the plugin directory later. If
shmlink is already installed, it is not touched: the test is skipped (unless a marker
in /run says an interrupted run of this test left it, which is then cleaned up first).
"""

import fcntl
import json
import os
import re
import signal
import stat
import subprocess
import sys
import unittest

import shmlink_sys as sysh
from shmlink import multiproc as mp
from shmlink import testpmd as tpmd

BUILD = None
SRC = None
LOCK = mp.INSTALL_LOCK
MARKER = '/run/shmlink-install-test.installed'
PMD = mp.PMD
DURATION = '1.5'
MIN_FRAMES = 20000


def run(argv, env=None, check=True, timeout=120, cwd=None):
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout,
                       cwd=cwd)
    if check and p.returncode != 0:
        raise AssertionError('%s failed (%d):\n%s%s' % (' '.join(argv), p.returncode,
                                                        p.stdout[-3000:], p.stderr[-3000:]))
    return p


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ('LD_LIBRARY_PATH', 'DESTDIR', 'PKG_CONFIG_PATH', 'PYTHONPATH')}
    env.update(extra)
    return env


def install_plan():
    """{build file or name: destination} of `meson introspect --installed`, less what
    is built only on demand and was not (the docs: `ninja doc`), which meson install
    skips."""
    plan = json.loads(run(['meson', 'introspect', BUILD, '--installed']).stdout)
    return {k: v for k, v in plan.items()
            if os.path.lexists(k) or '/doc/shmlink/' not in v}


def build_option(name):
    opts = json.loads(run(['meson', 'introspect', BUILD, '--buildoptions']).stdout)
    return {o['name']: o['value'] for o in opts}[name]


def staged(destdir, path):
    return os.path.join(destdir, path.lstrip('/'))


def needed(path):
    out = run(['readelf', '-d', path]).stdout
    return re.findall(r'\(NEEDED\)\s+Shared library: \[([^\]]+)\]', out)


def soname(path):
    m = re.search(r'\(SONAME\)\s+Library soname: \[([^\]]+)\]',
                  run(['readelf', '-d', path]).stdout)
    return m.group(1) if m else None


def files_under(top):
    """Every non-directory under @top."""
    out = []
    for root, dirs, files in os.walk(top):
        out += [os.path.join(root, f) for f in files]
        out += [os.path.join(root, d) for d in dirs if os.path.islink(os.path.join(root, d))]
    return sorted(out)


def dirs_under(top):
    return sorted(os.path.join(r, d) for r, ds, _ in os.walk(top) for d in ds)


def uninstall_tool(destdir=None):
    env = clean_env(**({'DESTDIR': destdir} if destdir else {}))
    return run([sys.executable, os.path.join(SRC, 'usertools', 'shmlink-uninstall'), BUILD],
               env=env)


class NoDTestpmd(tpmd.Testpmd):
    """dpdk-testpmd at its prompt, with the EAL options of the system tests but no -d
    (unless @extra says so) and the environment given (no LD_LIBRARY_PATH by default)."""

    def __init__(self, ws, name, vdev, env=(), extra=(), limit=120):
        super().__init__(ws, name, [vdev],
                         tpmd.eal_args(None, sysh.LCORES[0], 'info') + list(extra),
                         ['--total-num-mbufs=%d' % tpmd.NB_MBUFS, '--forward-mode=io',
                          '--no-flush-rx'], limit=limit,
                         launcher=['env', '-u', 'LD_LIBRARY_PATH'] + list(env) +
                         ['stdbuf', '-o0'])


class InstallTest(sysh.SysTestCase):

    tag = 'install'

    def test_1_staged_layout_and_uninstall(self):
        dest = self.ws.path('stage')
        os.mkdir(dest)
        plan = install_plan()
        prefix = build_option('prefix')
        libdir = os.path.join(prefix, build_option('libdir'))
        includedir = os.path.join(prefix, build_option('includedir'))
        bindir = os.path.join(prefix, build_option('bindir'))
        run(['meson', 'install', '-C', BUILD, '--no-rebuild', '--destdir', dest],
            env=clean_env())

        # The driver: one plain file, in the directory the EAL of dpdk-testpmd scans.
        plugin_dir = mp.plugin_dir()
        pmd = staged(dest, os.path.join(plugin_dir, PMD))
        self.assertTrue(os.path.isfile(pmd) and not os.path.islink(pmd),
                        'no %s in the plugin directory %s: staged files %s' % (
                            PMD, plugin_dir, files_under(dest)))
        self.assertEqual(os.listdir(os.path.dirname(pmd)), [PMD],
                         'EAL loads every .so of the directory: one name only')
        self.assertEqual(stat.S_IMODE(os.stat(pmd).st_mode), 0o644)
        # libshmlink is linked in: the driver loads without /usr/local on the path.
        self.assertFalse([n for n in needed(pmd) if 'shmlink' in n], needed(pmd))
        info = run(['/usr/bin/python3', '/usr/bin/dpdk-pmdinfo.py', pmd]).stdout
        self.assertEqual([d['name'] for d in json.loads(info)], ['net_shmlink'], info)

        # libshmlink: versioned with its soname and the usual links.
        lib = staged(dest, os.path.join(libdir, 'libshmlink.so'))
        self.assertTrue(os.path.islink(lib) and os.path.islink(lib + '.0'))
        real = os.path.realpath(lib)
        self.assertTrue(real.startswith(staged(dest, libdir) + '/libshmlink.so.0.'), real)
        self.assertEqual(soname(real), 'libshmlink.so.0')
        self.assertTrue(os.path.isfile(staged(dest, os.path.join(includedir, 'shmlink',
                                                                 'shmlink.h'))))

        # libshmlink.pc names the installed paths, and builds a program against them.
        pcdir = staged(dest, os.path.join(libdir, 'pkgconfig'))
        env = clean_env(PKG_CONFIG_PATH=pcdir)
        self.assertEqual(run(['pkg-config', '--variable=libdir', 'libshmlink'],
                             env=env).stdout.strip(), libdir)
        self.assertEqual(run(['pkg-config', '--cflags', 'libshmlink'], env=env).stdout.split(),
                         ['-I' + os.path.join(includedir, 'shmlink')])
        env['PKG_CONFIG_SYSROOT_DIR'] = dest
        flags = run(['pkg-config', '--cflags', '--libs', 'libshmlink'], env=env).stdout.split()
        exe = self.ws.path('consumer')
        run(['cc', '-std=c11', '-Wall', '-Werror', '-o', exe,
             os.path.join(SRC, 'test', 'install', 'consumer.c')] + flags)
        out = run([exe], env=clean_env(LD_LIBRARY_PATH=staged(dest, libdir))).stdout
        self.assertIn('server received: hello, sandbox', out)

        # The driver's API: a program calling it builds with the installed header and
        # DPDK's flags, links the driver in the plugin directory, and runs (no EAL: no
        # port, nothing lent).
        api_inc = staged(dest, os.path.join(includedir, 'shmlink'))
        self.assertTrue(os.path.isfile(os.path.join(api_inc, 'rte_pmd_shmlink.h')))
        src, api_exe = self.ws.path('api.c'), self.ws.path('api')
        with open(src, 'w') as f:
            f.write('#include <rte_pmd_shmlink.h>\n'
                    'int main(void) { return rte_pmd_shmlink_tx_alloc(0, 0, 0, 0, 1); }\n')
        dpdk_flags = run(['pkg-config', '--cflags', '--libs', 'libdpdk']).stdout.split()
        run(['cc', '-DALLOW_EXPERIMENTAL_API', '-Wall', '-Werror', '-o', api_exe, src,
             '-I' + api_inc] + dpdk_flags + ['-L' + os.path.dirname(pmd), '-l:' + PMD,
                                             '-Wl,-rpath,' + os.path.dirname(pmd)])
        run([api_exe], env=clean_env())

        # The programs, running on the staged library.
        peer = staged(dest, os.path.join(bindir, 'shmlink-peer'))
        out = run([peer, '--help'], env=clean_env(LD_LIBRARY_PATH=staged(dest, libdir)))
        self.assertIn('usage: shmlink-peer', out.stdout)
        # The user tools, on the staged toolbox (test_2 runs them where they were told
        # it is installed).
        toolbox = staged(dest, os.path.join(prefix, build_option('datadir'), 'shmlink',
                                            'python'))
        for t in ('shmlink-top', 'shmlink-sockinfo'):
            out = run([staged(dest, os.path.join(bindir, t)), '--help'],
                      env=clean_env(PYTHONPATH=toolbox))
            self.assertIn('usage: ' + t, out.stdout)
        for dst in plan.values():
            p = staged(dest, dst)
            self.assertTrue(os.path.lexists(p), 'not installed: ' + p)
            if dst.startswith(bindir + '/'):
                self.assertTrue(os.access(p, os.X_OK), p)
        if any(k.endswith('/shmlink-gvisor-peer') for k in plan):
            self.assertTrue(os.access(staged(dest, os.path.join(bindir, 'shmlink-gvisor-peer')),
                                      os.X_OK))

        # Meson's uninstall removes every file and every directory the install made.
        run(['ninja', '-C', BUILD, 'uninstall'], env=clean_env())
        self.assertEqual(os.listdir(dest), [], 'left after uninstall: %s' % (
            files_under(dest) + dirs_under(dest)))

        # Installed twice, meson's log has lost the directories: the tool removes them.
        for _ in range(2):
            run(['meson', 'install', '-C', BUILD, '--no-rebuild', '--destdir', dest],
                env=clean_env())
        uninstall_tool(dest)
        self.assertEqual(files_under(dest), [])
        left = set(os.path.relpath(d, dest) for d in dirs_under(dest))
        # What remains are the system's directories: the prefix's first level and the
        # plugin directory with its parents (present on every such system anyway).
        allowed = set()
        for dst in plan.values():
            if dst.startswith(prefix + '/'):
                allowed.add(os.path.join(prefix, os.path.relpath(dst, prefix).split('/')[0]))
        d = plugin_dir
        while d != '/':
            allowed.add(d)
            d = os.path.dirname(d)
        d = prefix
        while d != '/':
            allowed.add(d)
            d = os.path.dirname(d)
        self.assertEqual(left - set(p.lstrip('/') for p in allowed), set())

    def test_2_system_install_testpmd_without_d(self):
        if os.geteuid() != 0:
            self.skipTest('needs root: installs into the system and its DPDK plugin '
                          'directory')
        lock = open(LOCK, 'a')
        self.addCleanup(lock.close)
        sysh.wait_until(lambda: self._try_lock(lock), 240, 'the install test lock', 0.5)
        plan = install_plan()
        dests = sorted(set(plan.values()))
        present = [d for d in dests if os.path.lexists(d)]
        if present and os.path.exists(MARKER):
            # An earlier run of this test was killed before it cleaned up.
            uninstall_tool()
            os.unlink(MARKER)
            present = [d for d in dests if os.path.lexists(d)]
        if present:
            self.skipTest('shmlink is installed on this machine (%s ...): not touching it; '
                          'uninstall it to run this test' % present[0])
        plugin_dir = mp.plugin_dir()
        pmd = os.path.join(plugin_dir, PMD)
        self.assertIn(pmd, dests, 'meson install does not put the driver in ' + plugin_dir)

        watched = self._watched_dirs(dests)
        before = {d: self._listing(d) for d in watched}
        with open(MARKER, 'w') as f:
            f.write(BUILD + '\n')
        # try/finally rather than addCleanup: unittest skips cleanups when SIGTERM (from
        # meson's timeout) arrives as an exception.
        try:
            self._installed_run(dests, pmd, watched, before)
        finally:
            self._cleanup()

    def _installed_run(self, dests, pmd, watched, before):
        out = run(['meson', 'install', '-C', BUILD, '--no-rebuild'], env=clean_env()).stdout
        self.assertIn('ldconfig.sh', out)
        for d in dests:
            self.assertTrue(os.path.lexists(d), 'not installed: ' + d)

        peer = os.path.join(build_option('prefix'), build_option('bindir'), 'shmlink-peer')
        # The installed peer finds the installed libshmlink through ldconfig's cache.
        ldd = run(['ldd', peer], env=clean_env()).stdout
        self.assertRegex(ldd, r'libshmlink\.so\.0 => %s/' % re.escape(
            os.path.join(build_option('prefix'), build_option('libdir'))))

        # testpmd with no -d: EAL finds net_shmlink in its plugin directory.
        sock = self.ws.path('s')
        tp = NoDTestpmd(self.ws, 'testpmd', 'net_shmlink0,socket=' + sock).ready()
        self.assertNotRegex(tp.output, r'No probed ethernet devices|Fail to configure port')
        # The installed shmlink-top finds the installed toolbox (no PYTHONPATH, run
        # from elsewhere) and reports the port.
        top = os.path.join(build_option('prefix'), build_option('bindir'), 'shmlink-top')
        out = run([top, '--file-prefix', tp.prefix, '--count', '1', '--interval', '0.2',
                   '--json'], env=clean_env(), cwd='/').stdout
        self.assertEqual([p['socket'] for p in json.loads(out)['ports']], [sock], out)
        with open('/proc/%d/maps' % tp.pid) as f:
            maps = f.read()
        self.assertIn(pmd, maps)
        self.exchange(tp, peer, sock)
        self.assertEqual(tp.quit(), 0)

        # With -d of the build tree's driver as well: the first copy loaded (-d) drives
        # the port; the installed one says so and registers nothing.
        drv = os.path.join(BUILD, 'drivers')
        sock2 = self.ws.path('s2')
        tp = NoDTestpmd(self.ws, 'testpmd-d', 'net_shmlink0,socket=' + sock2,
                        env=['LD_LIBRARY_PATH=' + drv], extra=['-d', PMD]).ready()
        self.assertRegex(tp.output, r'net_shmlink is already loaded from %s: %s stays unused'
                         % (re.escape(os.path.join(drv, PMD)), re.escape(pmd)))
        summary = tp.cmd('show port summary all', done=r'Number of available ports: \d+')
        self.assertRegex(summary, r'Number of available ports: 1\b')
        self.assertEqual(tp.telemetry('/shmlink/list'), [0])
        self.assertEqual(tp.telemetry('/shmlink/info,0')['socket'], sock2)
        self.exchange(tp, peer, sock2)
        self.assertEqual(tp.quit(), 0)

        # Meson's uninstall: every watched directory lists as before the install.
        run(['ninja', '-C', BUILD, 'uninstall'], env=clean_env())
        after = {d: self._listing(d) for d in watched}
        for d in watched:
            self.assertEqual(after[d], before[d], 'uninstall left %s changed' % d)
        # ldconfig forgets libshmlink once the tool refreshed its cache.
        uninstall_tool()
        self.assertNotIn('libshmlink', run(['ldconfig', '-p']).stdout)

    def exchange(self, tp, peer, sock):
        """testpmd io <-> the installed shmlink-peer txonly --verify: every frame of the
        peer reached testpmd and every frame testpmd sent came back intact."""
        jpath = sock + '.json'
        tp.start()
        mark = tp.mark()
        p = self.ws.run('peer', ['env', '-u', 'LD_LIBRARY_PATH', peer, '--socket', sock,
                                 '--mode', 'txonly', '--verify', '--duration', DURATION,
                                 '--cpus', sysh.CPUS[1], '--json', jpath,
                                 '--expect-min', str(MIN_FRAMES)], limit=40)
        self.assertEqual(p.wait(40), 0, 'shmlink-peer failed:\n' + p.tail())
        tp.wait_for(r'detached', 10, mark)
        fwd = tp.stop()
        ps = tp.port_stats()
        with open(jpath) as f:
            t = json.load(f)['total']
        self.assertGreater(t['rx_verified'], MIN_FRAMES)
        self.assertEqual((ps['rx'], ps['rx_bytes']), (t['tx_packets'], t['tx_bytes']))
        self.assertEqual((t['rx_packets'], t['rx_bytes']), (ps['tx'], ps['tx_bytes']))
        self.assertEqual((t['rx_verified'], t['rx_corrupt'], t['rx_reordered']),
                         (t['rx_packets'], 0, 0), t)
        self.assertEqual(t['tx_unreturned'], fwd['tx_dropped'], (t, fwd))

    @staticmethod
    def _try_lock(f):
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    @staticmethod
    def _watched_dirs(dests):
        """The directories an install can change: on the way to each installed file,
        those that do not exist yet and the first one up that does."""
        out = set()
        for d in dests:
            d = os.path.dirname(d)
            while True:
                out.add(d)
                if os.path.isdir(d) or d == '/':
                    break
                d = os.path.dirname(d)
        return sorted(out)

    @staticmethod
    def _listing(d):
        """Name, type, mode, owner and link target of each entry of @d (None if @d does
        not exist); no times, which an install and uninstall change."""
        if not os.path.isdir(d):
            return None
        out = []
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue
            out.append((name, stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid,
                        st.st_gid, os.readlink(p) if stat.S_ISLNK(st.st_mode) else None))
        return out

    def _cleanup(self):
        """Whatever happened: nothing of ours stays installed (in particular not the
        driver, which every DPDK process on the machine would load)."""
        uninstall_tool()
        try:
            os.unlink(MARKER)
        except FileNotFoundError:
            pass


def main():
    global BUILD, SRC
    if len(sys.argv) < 3:
        sys.stderr.write('usage: %s BUILD_DIR SOURCE_DIR [unittest args]\n' % sys.argv[0])
        sys.exit(2)
    BUILD = os.path.abspath(sys.argv[1])
    SRC = os.path.abspath(sys.argv[2])
    sysh.BUILD_DIR = BUILD
    signal.signal(signal.SIGTERM, sysh._on_sigterm)
    prog = unittest.main(module='__main__', argv=[sys.argv[0]] + sys.argv[3:], exit=False,
                         verbosity=2)
    r = prog.result
    if not r.wasSuccessful():
        sys.exit(1)
    # Everything skipped: tell meson (exit status 77).
    sys.exit(77 if r.testsRun and len(r.skipped) == r.testsRun else 0)


if __name__ == '__main__':
    main()
