#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""The layering rule, read from the #include lines of every C source and header:

  lib/shmlink (pipe -> queue -> notify/qfile -> endpoint/ctl -> attach)
      <- drivers/net/shmlink <- app, test

* a file of lib/shmlink includes only system headers and lib/shmlink headers of its
  own layer or a lower one: no DPDK, nothing of the driver or the apps;
* the library's private headers (those lib/shmlink/meson.build does not install) are
  included only by lib/shmlink;
* the driver's headers are included only by the driver;
and doc/guides/prog/code_map.rst names every file of lib, drivers, app, buildtools,
usertools and test.

Usage: test_layering.py SOURCE_ROOT"""

import os
import re
import sys
import unittest

TOP = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else os.getcwd()
LIB = 'lib/shmlink'
DRIVER = 'drivers/net/shmlink'
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)

# Layer of each library module (file name without shmlink_ and its suffix): a file
# may include headers of its own layer or a lower one.
LAYERS = {
    'le': 0, 'prefetch': 0,
    'pipe': 1, 'pipe_inline': 1,
    'queue': 2, 'queue_inline': 2, 'notify': 2,
    'qfile': 3,
    'endpoint': 4, 'ep_priv': 4, 'copy': 4, 'frame': 4, 'client': 4, 'server': 4,
    'ctl': 4, 'cksum': 4,
    'attach': 5,
    'testing': 7,   # the test-only accessor, above the whole library
    '': 6,      # shmlink.h, the umbrella header
}

# Known breaches, each to be removed as it is mended.
KNOWN = set()
TESTING = 'shmlink_testing.h'     # the test-only accessor: for test/ alone


def read(path):
    with open(path, errors='replace') as f:
        return f.read()


def module(name):
    base = os.path.basename(name)
    m = re.fullmatch(r'shmlink(?:_(\w+?))?\.[ch]', base)
    return m.group(1) or '' if m else None


def installed_headers():
    text = read(os.path.join(TOP, LIB, 'meson.build'))
    block = re.search(r'shmlink_headers = files\((.*?)\)', text, re.S).group(1)
    return {os.path.basename(h) for h in re.findall(r"'([\w./]+\.h)'", block)}


def sources():
    for folder in ('lib', 'drivers', 'app', 'test'):
        for root, dirs, files in os.walk(os.path.join(TOP, folder)):
            dirs[:] = [d for d in dirs if d not in ('go', 'corpus')]
            for f in files:
                if f.endswith(('.c', '.h')):
                    path = os.path.join(root, f)
                    yield os.path.relpath(path, TOP), read(path)


class LayeringTest(unittest.TestCase):

    def setUp(self):
        self.lib_headers = {h for d in ('', 'include', 'testing')
                            for h in os.listdir(os.path.join(TOP, LIB, d)) if h.endswith('.h')}
        self.private = self.lib_headers - installed_headers()
        self.driver_headers = {h for h in os.listdir(os.path.join(TOP, DRIVER))
                               if h.endswith('.h')}
        self.files = list(sources())
        self.assertTrue(self.private, 'no private library header found')

    def breaches(self):
        out = []
        for path, text in self.files:
            for inc in INCLUDE.findall(text):
                name = os.path.basename(inc)
                why = self.check(path, inc, name)
                if why:
                    out.append((path, name, why))
        return out

    def check(self, path, inc, name):
        if path.startswith(LIB + '/'):
            if inc.startswith('rte_') or name in self.driver_headers:
                return 'the library includes DPDK or the driver'
            if name in self.lib_headers:
                if module(name) not in LAYERS or module(path) not in LAYERS:
                    return 'a library module missing from LAYERS in this test'
                if LAYERS[module(name)] > LAYERS[module(path)]:
                    return 'a lower layer of the library includes a higher one'
            elif '/' not in inc and name.startswith(('shmlink', 'peer', 'fuzz')):
                return 'the library includes a header of the apps or tests'
            return None
        if name == TESTING:
            return None if path.startswith('test/') else 'the test-only accessor, outside test/'
        if name in self.private:
            return 'a private header of the library, outside it'
        # The driver's one installed header, its API, is for applications.
        if (name in self.driver_headers and name != 'rte_pmd_shmlink.h' and
                not path.startswith(DRIVER + '/')):
            return 'a header of the driver, outside it'
        return None

    def test_every_include_follows_the_layering(self):
        found = self.breaches()
        new = [b for b in found if (b[0], b[1]) not in KNOWN]
        self.assertEqual(new, [], '\n'.join('%s includes %s: %s' % b for b in new))
        gone = KNOWN - {(b[0], b[1]) for b in found}
        self.assertEqual(gone, set(), 'mended, remove from KNOWN: %s' % sorted(gone))

    def test_the_check_sees_a_breach(self):
        # The rule itself: each kind of breach is caught.
        self.assertTrue(self.check('lib/shmlink/shmlink_pipe.c', 'shmlink_attach.h',
                                   'shmlink_attach.h'))
        self.assertTrue(self.check('lib/shmlink/shmlink_pipe.c', 'rte_mbuf.h', 'rte_mbuf.h'))
        self.assertTrue(self.check('lib/shmlink/shmlink_ctl.c', 'shmlink_ethdev.h',
                                   'shmlink_ethdev.h'))
        self.assertTrue(self.check('app/shmlink-peer/peer_fwd.c', 'shmlink_pipe_inline.h',
                                   'shmlink_pipe_inline.h'))
        self.assertTrue(self.check('test/unit/test_pipe.c', 'shmlink_ethdev.h',
                                   'shmlink_ethdev.h'))
        self.assertIsNone(self.check('test/unit/test_pipe.c', 'shmlink_pipe.h',
                                     'shmlink_pipe.h'))
        self.assertIsNone(self.check('lib/shmlink/shmlink_attach.c', 'shmlink_pipe.h',
                                     'shmlink_pipe.h'))
        self.assertTrue(self.check('test/fuzz/fuzz_endpoint.c', 'shmlink_ep_priv.h',
                                   'shmlink_ep_priv.h'))
        self.assertTrue(self.check('app/shmlink-peer/peer_fwd.c', TESTING, TESTING))
        self.assertIsNone(self.check('test/hostile/hostile_peer.c', TESTING, TESTING))


class DriverLogTest(unittest.TestCase):
    """The system tests remove the driver's log lines from testpmd's output by the
    function name that starts them (python/shmlink/testpmd.py, DRIVER_LOG_PREFIXES):
    every driver function that logs must have one of those prefixes."""

    def test_every_logging_function_has_a_filtered_prefix(self):
        text = read(os.path.join(TOP, 'python/shmlink/testpmd.py'))
        prefixes = re.search(r'DRIVER_LOG_PREFIXES = \(([^)]*)\)', text).group(1)
        prefixes = tuple(re.findall(r"'(\w+)'", prefixes))
        self.assertTrue(prefixes)
        bad = []
        folder = os.path.join(TOP, DRIVER)
        for f in sorted(os.listdir(folder)):
            if not f.endswith('.c'):
                continue
            fn = None
            for line in read(os.path.join(folder, f)).splitlines():
                m = re.match(r'([a-z_]\w*)\(', line)
                if m:
                    fn = m.group(1)
                if 'SHMLINK_LOG(' in line and fn is not None and \
                        not fn.startswith(prefixes):
                    bad.append('%s: %s()' % (f, fn))
        self.assertEqual(bad, [], 'log from functions the harness does not filter')


class CodeMapTest(unittest.TestCase):

    def test_the_code_map_names_every_file(self):
        text = read(os.path.join(TOP, 'doc/guides/prog/code_map.rst'))
        named = set(re.findall(r'``([^`]+)``', text))
        named |= {os.path.basename(n.rstrip('/')) for n in named}
        missing = []
        for folder in ('lib', 'drivers', 'app', 'buildtools', 'usertools', 'devtools',
                       'python', 'test'):
            for root, dirs, files in os.walk(os.path.join(TOP, folder)):
                dirs[:] = [d for d in dirs if d not in ('corpus', '__pycache__')]
                for f in files:
                    if f == 'meson.build' or f.endswith('.pyc'):
                        continue
                    if f not in named:
                        missing.append(os.path.relpath(os.path.join(root, f), TOP))
        self.assertEqual(missing, [], 'not in doc/guides/prog/code_map.rst')


if __name__ == '__main__':
    unittest.main(verbosity=2)
