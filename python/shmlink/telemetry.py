# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""DPDK telemetry v2: where a process's socket is, and a client for it.

The socket is SOCK_SEQPACKET; the server sends a JSON greeting ({"version", "pid",
"max_output_len"}), then answers each command with one JSON object whose only key is the
command without its parameters. An unknown command or bad parameters give null.
"""

import json
import os
import socket

SOCKET_NAME = 'dpdk_telemetry.v2'
DEFAULT_PREFIX = 'rte'


class TelemetryError(Exception):
    """The process behind the socket went away or answered something that is not
    telemetry."""


def runtime_dir(prefix='', env=None):
    """DPDK's runtime directory of EAL file prefix @prefix, found as EAL and
    dpdk-telemetry.py find it in environment @env (default: ours); '' gives the
    directory of all prefixes."""
    env = os.environ if env is None else env
    run_dir = env.get('RUNTIME_DIRECTORY')
    if not run_dir:
        run_dir = '/var/run' if os.getuid() == 0 else env.get('XDG_RUNTIME_DIR', '/tmp')
    return os.path.join(run_dir, 'dpdk', prefix)


def socket_path(prefix, instance=0, env=None):
    """The telemetry socket of the process with EAL file prefix @prefix (@instance > 0
    for the second, third ... process of the prefix) and environment @env."""
    return os.path.join(runtime_dir(prefix, env),
                        SOCKET_NAME + (':%d' % instance if instance > 0 else ''))


class Telemetry:
    """One connection to a telemetry socket. Raises OSError or ValueError if nothing
    that speaks telemetry answers at @path."""

    def __init__(self, path, timeout=5.0):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
            hello = json.loads(self.sock.recv(1024).decode())
        except (OSError, ValueError):
            self.sock.close()
            raise
        self.pid = hello.get('pid')
        self.version = hello.get('version', '?')
        self.max_len = hello.get('max_output_len', 16384)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def query(self, cmd):
        """The value of @cmd's reply (None for an unknown command or bad parameters)."""
        try:
            self.sock.send(cmd.encode())
            reply = self.sock.recv(self.max_len + 1024)
        except OSError as e:
            raise TelemetryError('lost the DPDK process (pid %s) at %s: %s' %
                                 (self.pid, self.path, e.strerror or e))
        if not reply:
            raise TelemetryError('the DPDK process (pid %s) closed its telemetry socket %s'
                                 % (self.pid, self.path))
        try:
            return json.loads(reply.decode()).get(cmd.split(',')[0])
        except (ValueError, AttributeError):
            raise TelemetryError('bad telemetry reply to %s: %r' % (cmd, reply[:200]))

    def close(self):
        self.sock.close()


def query_all(path, cmds, timeout=2.0):
    """(pid, [reply value of each command]) from the socket @path; None when nobody
    answers there."""
    try:
        with Telemetry(path, timeout) as tel:
            return tel.pid, [tel.query(c) for c in cmds]
    except (OSError, ValueError, TelemetryError):
        return None
