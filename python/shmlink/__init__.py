# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""The toolbox the tests, the benchmarks and the user tools share. Python 3 standard
library only.

  proc       processes under timeout(1) in their own session, their output collected;
             the group that cleans up after them; what /proc says about a process
  telemetry  DPDK's telemetry v2 socket: finding it, one client
  testpmd    dpdk-testpmd driven through its standard input, state read by telemetry
  sampling   CPU used by others, steal, quiet gates, a cache line's round trip

Installed next to shmlink-top and shmlink-sockinfo (<datadir>/shmlink/python); in a
checkout it is python/ at the top (tests get it on PYTHONPATH from meson).
"""
