# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""dpdk-testpmd in interactive mode, fed command by command through a pipe.

Commands go through its standard input and are done when the next prompt comes. What a
port's state is (link, counters, extended counters, the ports there are) is read from
DPDK telemetry instead: testpmd's interrupt thread and the driver print events and log
lines at any time, even inside a prompt or a command's output, and telemetry answers
are never interleaved with them.
"""

import re
import shutil
import time

from . import proc, telemetry

TESTPMD = shutil.which('dpdk-testpmd') or '/usr/bin/dpdk-testpmd'
PROMPT = 'testpmd> '

# What testpmd's interrupt thread and the driver's control path print at any time, even
# in the middle of a command's output or of the prompt: LSC events ("\nPort 0: link
# state change event\n") and driver log lines ("peer_attach_locked(): ...\n"). A log
# line can start inside the prompt ("testp" "peer_handshake_failed(): ...\n" "md> "), so
# it is known by the driver's function prefixes, not by any lower-case word: the
# latter took "testp" with it. test/layering checks that every function of the driver
# that logs has one of these prefixes.
DRIVER_LOG_PREFIXES = ('shmlink_', 'peer_', 'arg_')
ASYNC_LINES = re.compile(r'\nPort \d+: [a-z ]+ event\n|(?:%s)[a-z_]*\(\): [^\n]*\n' %
                         '|'.join(DRIVER_LOG_PREFIXES))


def strip_async(text):
    """@text without its asynchronous lines (ASYNC_LINES), but with any prompt that
    landed inside one: DPDK 24.11's log writes a line's newline apart, so the prompt can
    come before it ("peer_detach_locked(): ... closed or written totestpmd> \n")."""
    return ASYNC_LINES.sub(lambda m: PROMPT * m.group(0).count(PROMPT), text)

# The pool of 16384 mbufs fits in EAL's -m 512 without huge pages.
NB_MBUFS = 16384

_FWD_ACC = re.compile(r'Accumulated forward statistics for all ports\+*\s*'
                      r'RX-packets:\s*(\d+)\s+RX-dropped:\s*(\d+)\s+RX-total:\s*(\d+)\s*'
                      r'TX-packets:\s*(\d+)\s+TX-dropped:\s*(\d+)\s+TX-total:\s*(\d+)')


def eal_args(driver=None, lcores=None, log_level=None, huge=False):
    """EAL arguments that work on these machines (/work/shared/NOTES-dpdk.md), without
    the file prefix and the devices: no PCI; 512 MiB without huge pages and without
    shared configuration, or (@huge) huge pages in one file per segment list (what
    memif zero-copy shares) and nothing on disk; the driver @driver (a bare name is
    found on LD_LIBRARY_PATH)."""
    args = ['--no-pci']
    if huge:
        args += ['--in-memory', '--single-file-segments']
    else:
        args += ['--no-huge', '-m', '512', '--no-shconf']
    if driver is not None:
        args += ['-d', driver]
    if log_level is not None:
        args += ['--log-level', 'pmd.net.shmlink,' + log_level]
    if lcores is not None:
        args += ['--lcores', lcores]
    return args


class Testpmd(proc.Proc):
    """dpdk-testpmd -i with the ports @vdevs, EAL arguments @eal (eal_args()) and
    testpmd arguments @app. @launcher runs it with unbuffered output, so that command
    output, prompts and log lines come in the order they were written. @run_env: the
    environment variables it gets that tell EAL where its runtime directory is; @prefix:
    the file prefix of a primary process to join (--proc-type=secondary in @eal), else
    a fresh one of the group."""

    quit_with = 'quit\n'

    def __init__(self, group, name, vdevs, eal, app=(), limit=120,
                 launcher=('stdbuf', '-o0'), testpmd=TESTPMD, run_env=None, prefix=None,
                 **kw):
        self.prefix = prefix or group.prefix(name)
        self.tel_path = telemetry.socket_path(self.prefix, env=run_env)
        self.nb_ports = len(vdevs)
        argv = list(launcher) + [testpmd] + list(eal) + ['--file-prefix', self.prefix]
        for v in vdevs:
            argv += ['--vdev', v]
        argv += ['--', '-i'] + list(app)
        super().__init__(group, name, argv, limit, **kw)
        self._tel = None

    # ---- commands ----

    def ready(self, timeout=30):
        """Wait for the first prompt, then check that every port is there."""
        self.wait_for(re.escape(PROMPT), timeout, clean=strip_async)
        ports = self.telemetry('/ethdev/list')
        if ports is None or len(ports) != self.nb_ports:
            raise self.fail('%d ports, want %d (bad devargs, or the driver did not load)'
                            % (len(ports or ()), self.nb_ports))
        return self

    def cmd(self, line, timeout=10, done=None):
        """Run one command; return what it printed up to the next prompt, without the
        asynchronous lines (ASYNC_LINES). @done: a regex the output must have before the
        prompt counts (a prompt of an earlier command cannot end this one)."""
        start = self.mark()
        self.send(line + '\n')
        pattern = re.escape(PROMPT)
        if done is not None:
            pattern = r'(?:%s)[\s\S]*?%s' % (done, pattern)
        m = self.wait_for(pattern, timeout, since=start, clean=strip_async)
        return m.string[:m.end() - len(PROMPT)]

    def set_fwd(self, mode):
        out = self.cmd('set fwd %s' % mode)
        if 'Set %s packet forwarding mode' % mode not in out:
            raise self.fail('set fwd %s refused: %s' % (mode, out.strip()[-300:]))

    def set_txpkts(self, length):
        self.cmd('set txpkts %s' % length)
        out = self.cmd('show config txpkts')
        if not re.search(r'Segment sizes:\s*%s\b' % length, out):
            raise self.fail('set txpkts %s refused: %s' % (length, out.strip()[-300:]))

    def start(self, tx_first=None):
        line = 'start' if not tx_first else 'start tx_first %d' % tx_first
        out = self.cmd(line, done=r'packets/burst=|packet forwarding( with retry)? - ports')
        if 'forwards packets on' not in out:
            raise self.fail('forwarding did not start: %s' % out.strip()[-300:])
        return out

    def stop(self, timeout=20):
        """Stop forwarding; return the accumulated forward statistics."""
        out = self.cmd('stop', timeout=timeout, done=r'Done\.')
        m = _FWD_ACC.search(out)
        if m is None:
            raise self.fail('no forward statistics after stop:\n%s' % out)
        keys = ('rx', 'rx_dropped', 'rx_total', 'tx', 'tx_dropped', 'tx_total')
        return dict(zip(keys, (int(v) for v in m.groups())))

    def mempools(self):
        """`dump_mempool`: per pool, its size and the objects available (in the common
        pool plus every lcore cache), so size - available mbufs are in use (telemetry
        has no available count). testpmd of DPDK 25.11 spells it `dump mempool`."""
        out = self.cmd('dump_mempool', timeout=10)
        if 'Command not found' in out:
            out = self.cmd('dump mempool', timeout=10)
        pools = {}
        for block in re.split(r'^mempool <', out, flags=re.M)[1:]:
            name = block.split('>', 1)[0]
            size = int(re.search(r'^\s*size=(\d+)', block, re.M).group(1))
            common = int(re.search(r'common_pool_count=(\d+)', block).group(1))
            cache = re.search(r'total_cache_count=(\d+)', block)
            pools[name] = {'size': size,
                           'available': common + (int(cache.group(1)) if cache else 0)}
        return pools

    def quit(self, timeout=20):
        """`quit` and wait for a clean exit; return the exit status."""
        if self.alive():
            try:
                self.send('quit\n')
            except proc.Failure:
                pass
        rc = self.wait(timeout)
        self.close_stdin()
        return rc

    # ---- state, from telemetry ----

    def telemetry(self, cmd, timeout=10):
        """The value of telemetry command @cmd (None if unknown). The socket appears a
        moment after EAL starts; a lost connection is made again."""
        end = time.monotonic() + timeout
        while True:
            try:
                if self._tel is None:
                    self._tel = telemetry.Telemetry(self.tel_path)
                return self._tel.query(cmd)
            except (OSError, ValueError, telemetry.TelemetryError) as e:
                if self._tel is not None:
                    self._tel.close()
                    self._tel = None
                if time.monotonic() > end or not self.alive():
                    raise self.fail('no telemetry answer to %s: %s' % (cmd, e)) from e
                time.sleep(0.05)

    def port_stats(self, port=0):
        """The port's basic counters (/ethdev/stats)."""
        s = self.telemetry('/ethdev/stats,%d' % port)
        if s is None:
            raise self.fail('no port %d' % port)
        return {'rx': s['ipackets'], 'rx_missed': s['imissed'], 'rx_bytes': s['ibytes'],
                'rx_errors': s['ierrors'], 'rx_nombuf': s['rx_nombuf'],
                'tx': s['opackets'], 'tx_errors': s['oerrors'], 'tx_bytes': s['obytes']}

    def xstats(self, port=0):
        """The port's extended counters by name (/ethdev/xstats)."""
        x = self.telemetry('/ethdev/xstats,%d' % port)
        if x is None:
            raise self.fail('no port %d' % port)
        return x

    def link_status(self, port=0):
        """'up' or 'down' (/ethdev/link_status)."""
        s = self.telemetry('/ethdev/link_status,%d' % port)
        if s is None:
            raise self.fail('no port %d' % port)
        return s['status'].lower()

    def wait_link(self, state, timeout=10, port=0):
        """Wait for the link of @port to be @state ('up' or 'down')."""
        proc.wait_until(lambda: self.link_status(port) == state, timeout,
                        '%s: link %s' % (self.name, state), 0.05)

    def kill(self):
        if self._tel is not None:
            self._tel.close()
            self._tel = None
        super().kill()
