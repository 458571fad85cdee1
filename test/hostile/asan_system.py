#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Run a system test (test/system/test_*.py) against the driver and library built with
ASan and UBSan: every dpdk-testpmd it starts preloads Debian's libasan, and a sanitizer
report in any process's output fails the test case.

usage: asan_system.py BUILD_DIR SRC_DIR SYSTEM_TEST [unittest args]"""

import os
import runpy
import subprocess
import sys


def main():
    if len(sys.argv) < 4:
        sys.stderr.write(__doc__.split('\n\n')[-1] + '\n')
        sys.exit(2)
    build_dir, src_dir, test = (os.path.abspath(a) for a in sys.argv[1:4])
    libasan = subprocess.run(['gcc', '-print-file-name=libasan.so'], stdout=subprocess.PIPE,
                             check=True).stdout.decode().strip()
    if not os.path.isabs(libasan) or not os.path.exists(libasan):
        sys.stderr.write('libasan not found (gcc -print-file-name=libasan.so)\n')
        sys.exit(1)
    # Read by shmlink_sys when it is first imported (test_hostile imports it).
    os.environ['SHMLINK_SYS_ASAN_LIB'] = libasan
    import test_hostile as th
    th.SRC_DIR = src_dir
    th.ASAN_DIR = os.path.join(build_dir, 'test', 'hostile', 'asan')
    driver = th.build_asan_driver()
    sys.argv = [test, build_dir, driver] + sys.argv[4:]
    runpy.run_path(test, run_name='__main__')


if __name__ == '__main__':
    main()
