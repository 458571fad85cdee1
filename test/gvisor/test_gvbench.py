#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Smoke run of devtools/shmlink-gvbench --quick: TCP between two gVisor stacks through
dpdk-testpmd and net_shmlink (with and without coalesced signals, in two processes and in
one, and a variant with rx_evict), over a direct sharedmem link between their two
processes, and in one process, one short window each. Checks that the tool produces valid
JSON with all six figures above zero, the CPU time of every process, that each case's
ports got its devargs, and that it leaves no process, directory or EAL runtime directory
behind.
No figure is compared with anything: the machine may be slow or shared.

Run as `test_gvbench.py TOOL DRIVER_SO GVBENCH XCPU_RTT`."""

import json
import os
import subprocess
import sys
import unittest

TOOL = DRIVER = GVBENCH = XCPU_RTT = None


def cmdlines_with(text):
    found = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % d, 'rb') as f:
                if text.encode() in f.read():
                    found.append(int(d))
        except OSError:
            pass
    return found


class GvbenchSmokeTest(unittest.TestCase):

    def test_quick_run_gives_all_figures_as_json(self):
        p = subprocess.run(['/usr/bin/python3', TOOL, '--quick', '--json', '-', '--quiet',
                            '--signal-delay', '20', '--two-process', '--one-process',
                            '--csum-offload',
                            '--variant', 'oneproc:rx_evict=64', '--queues', 'tcp',
                            '--driver', DRIVER, '--gvbench', GVBENCH, '--xcpu-rtt', XCPU_RTT],
                           capture_output=True, text=True, timeout=150)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        doc = json.loads(p.stdout)
        self.assertEqual((doc['tool'], doc['status'], doc['failure']),
                         ('shmlink-gvbench', 0, None))
        cases = {s['case']: s for s in doc['samples']}
        self.assertEqual(sorted(cases), ['coalesced', 'direct', 'dpdk', 'offload', 'oneproc',
                                         'oneproc:rx_evict=64', 'twoproc'])
        for case, procs in (('dpdk', ['send', 'sink', 'testpmd']),
                            ('offload', ['send', 'sink', 'testpmd']),
                            ('coalesced', ['send', 'sink', 'testpmd']),
                            ('oneproc', ['pair', 'testpmd']),
                            ('oneproc:rx_evict=64', ['pair', 'testpmd']),
                            ('twoproc', ['send', 'sink']),
                            ('direct', ['direct'])):
            s = cases[case]
            self.assertGreater(s['gbps'], 0, case)
            self.assertGreater(s['bytes'], 0, case)
            self.assertEqual(sorted(s['cpu']), procs, case)
            # The case's processes worked (a stack alone may get no tick of a 1 s
            # window on a busy machine).
            self.assertGreater(s['cpu_total'], 0, '%s: %s' % (case, s))
            # The cache line round trip between the CPUs, before and after the window.
            self.assertEqual(len(s['xcpu_rtt_ns']), 2, case)
            self.assertTrue(all(x > 0 for x in s['xcpu_rtt_ns']), case)
        # Each DPDK case's two ports, with the case's own devargs and only those.
        for case, extra in (('dpdk', None), ('coalesced', 'signal_delay_us=20'),
                            ('oneproc', None), ('oneproc:rx_evict=64', 'rx_evict=64')):
            vdevs = cases[case]['vdevs']
            self.assertEqual(len(vdevs), 2, case)
            for v in vdevs:
                self.assertEqual('rx_evict' in v, extra == 'rx_evict=64', (case, v))
                self.assertEqual('signal_delay' in v, extra == 'signal_delay_us=20', (case, v))
                if extra:
                    self.assertTrue(v.endswith(',' + extra), (case, v))
        # Both stacks of a one-process case moved the data through testpmd.
        for case in ('oneproc', 'oneproc:rx_evict=64'):
            st = cases[case]['stacks']
            self.assertGreater(st['send']['nic_tx'], 0, case)
            self.assertGreater(st['sink']['nic_rx'], 0, case)
            self.assertGreater(cases[case]['data_frame_bytes'], 1400, case)
        d = cases['dpdk']
        # Data went through testpmd: full-sized frames on port 1, the stacks' counters.
        self.assertGreater(d['data_frame_bytes'], 1400)
        self.assertGreater(d['stacks']['send']['nic_tx'], 0)
        self.assertGreater(d['stacks']['sink']['nic_rx'], 0)
        row = doc['summary'][0]
        self.assertEqual((row['mtu'], row['placement']), (1500, 'split'))
        self.assertGreater(row['ratio']['median'], 0)
        self.assertGreater(row['ratio_coalesced']['median'], 0)
        self.assertGreater(row['ratio_twoproc']['median'], 0)
        self.assertGreater(row['ratio_oneproc']['median'], 0)
        self.assertGreater(row['ratio_oneproc:rx_evict=64']['median'], 0)
        self.assertGreater(row['offload_vs_dpdk']['median'], 0)
        # Linked directly, the two stacks exchanged the data themselves.
        self.assertGreater(cases['twoproc']['stacks']['sink']['nic_rx'], 0)
        self.assertEqual(doc['config']['signal_delay_us'], [20, 20])
        self.assertIn('dpdk Gbit/s', p.stderr)  # the table, on stderr with --json -
        # Everything it made is gone.
        work, prefix = doc['config']['work_dir'], doc['config']['eal_prefix']
        self.assertFalse(os.path.exists(work))
        self.assertEqual(cmdlines_with(work) + cmdlines_with(prefix), [])
        if os.path.isdir('/var/run/dpdk'):
            self.assertEqual([d for d in os.listdir('/var/run/dpdk') if d.startswith(prefix)],
                             [])


if __name__ == '__main__':
    if len(sys.argv) < 5:
        sys.stderr.write('usage: %s TOOL DRIVER_SO GVBENCH XCPU_RTT [unittest args]\n' %
                         sys.argv[0])
        sys.exit(2)
    TOOL, DRIVER, GVBENCH, XCPU_RTT = (os.path.abspath(a) for a in sys.argv[1:5])
    unittest.main(argv=[sys.argv[0]] + sys.argv[5:], verbosity=2)
