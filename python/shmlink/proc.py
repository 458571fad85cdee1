# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Processes the tests and benchmarks start, and what /proc says about a process.

Every process runs under `timeout -k 5 LIMIT` in a session of its own, so that it ends
even if we die, and so that killing its process group takes everything it started.
Its output is collected by a thread (and written to a log file if the group keeps
logs); waits search that text from a position (mark()), so a caller waits for what a
command printed and nothing earlier. Every wait is bounded; one that runs out raises
Failure with the tail of the output.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from . import telemetry


class Failure(AssertionError):
    """A bounded wait ran out, or a process did not do what it had to. An
    AssertionError, so that a unittest counts it as a failure."""


def read_text(path, default=''):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def wait_until(pred, timeout, what, interval=0.05):
    """Poll @pred until it returns a true value (returned) or @timeout s pass (fails)."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise Failure('timed out after %.1f s waiting for %s' % (timeout, what))
        time.sleep(interval)


# ---- /proc ----

def count_fds(pid):
    """Open file descriptors of process @pid."""
    return len(os.listdir('/proc/%d/fd' % pid))


def fd_targets(pid):
    """What each open FD of @pid points at, sorted (for messages about leaks)."""
    out = []
    for fd in os.listdir('/proc/%d/fd' % pid):
        try:
            out.append(os.readlink('/proc/%d/fd/%s' % (pid, fd)))
        except OSError:
            pass
    return sorted(out)


def count_maps(pid, word):
    """Mappings of @pid whose line contains @word (e.g. 'memfd:shmlink')."""
    with open('/proc/%d/maps' % pid) as f:
        return sum(1 for line in f if word in line)


def stat_fields(pid, task=None):
    """The fields of /proc/<pid>[/task/<task>]/stat after the command name (field 3
    of proc(5) is [0]); [] if the process is gone."""
    path = '/proc/%d/stat' % pid if task is None else '/proc/%d/task/%s/stat' % (pid, task)
    st = read_text(path)
    return st[st.rfind(')') + 2:].split() if st else []


def cpu_ticks(pid):
    """utime + stime of @pid in clock ticks (0 if it is gone)."""
    f = stat_fields(pid)
    return int(f[11]) + int(f[12]) if len(f) > 12 else 0


def ctx_switches(pid):
    """Context switches of all the threads of @pid: a thread that sleeps for each frame
    or burst (waiting on its eventfd) switches once per wake-up."""
    n = 0
    try:
        tasks = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return 0
    for t in tasks:
        for _, v in re.findall(r'^(voluntary|nonvoluntary)_ctxt_switches:\s*(\d+)',
                               read_text('/proc/%d/task/%s/status' % (pid, t)), re.M):
            n += int(v)
    return n


# ---- processes ----

class Proc:
    """A program under timeout(1) in its own session, its output collected.

    @stdin: a pipe the caller writes to (send()), else /dev/null. @stderr_apart: keep
    standard error apart (errors) instead of merging it into the output, so that log
    lines cannot land inside what a program prints on standard output. @limit_signal:
    what timeout(1) sends when @limit seconds pass (then SIGKILL 5 s later)."""

    # What Group.close() asks the process to end with (see begin_close()).
    quit_with = None

    def __init__(self, group, name, argv, limit, stdin=True, env=None, stderr_apart=False,
                 limit_signal='TERM'):
        self.group = group
        self.name = name
        self.argv = list(argv)
        self._parts = {'out': [], 'err': []}
        self._text = {'out': '', 'err': ''}
        self._cond = threading.Condition()
        self._eof = False
        self._pid = None
        self.log = None
        if group.keep_logs:
            self.log = open(os.path.join(group.dir, name + '.log'), 'w', encoding='utf-8')
            self.log.write('$ ' + shlex.join(self.argv) + '\n')
        try:
            self.popen = subprocess.Popen(
                ['timeout', '-k', '5', '-s', limit_signal, str(int(limit))] + self.argv,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if stderr_apart else subprocess.STDOUT,
                start_new_session=True, cwd=group.dir, env=env)
        except OSError as e:
            raise Failure('%s: cannot start %s: %s' % (name, self.argv[0], e)) from e
        group.procs.append(self)
        self._threads = [threading.Thread(target=self._reader, args=(self.popen.stdout, 'out'),
                                          daemon=True)]
        if stderr_apart:
            self._threads.append(threading.Thread(target=self._reader,
                                                  args=(self.popen.stderr, 'err'),
                                                  daemon=True))
        for t in self._threads:
            t.start()

    def _reader(self, pipe, key):
        fd = pipe.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b''
            if not chunk:
                break
            s = chunk.decode('utf-8', 'replace')
            with self._cond:
                self._parts[key].append(s)
                if self.log is not None and not self.log.closed:
                    self.log.write(s)
                    self.log.flush()
                self._cond.notify_all()
        with self._cond:
            if key == 'out':
                self._eof = True
            self._cond.notify_all()

    def _get(self, key):
        with self._cond:
            if self._parts[key]:
                self._text[key] += ''.join(self._parts[key])
                self._parts[key] = []
            return self._text[key]

    @property
    def output(self):
        """Everything the program wrote to standard output (and error, if merged)."""
        return self._get('out')

    @property
    def errors(self):
        """What it wrote to standard error, if kept apart."""
        return self._get('err')

    def mark(self):
        return len(self.output)

    def tail(self, n=3000):
        """The last @n characters of the output (and of the errors, if apart)."""
        err = self.errors
        return self.output[-n:] + ('\n---- stderr ----\n' + err[-n:] if err else '')

    def fail(self, what):
        """A Failure saying @what, the process's state and the tail of its output."""
        rc = self.popen.poll()
        state = 'still running' if rc is None else 'exited with status %d' % rc
        return Failure('%s: %s (%s); output ends with:\n%s' % (self.name, what, state,
                                                                self.tail()))

    def wait_for(self, pattern, timeout, since=0, flags=re.M, clean=None):
        """Wait for regex @pattern in the output from position @since, passed through
        @clean (a function of the text) first if given; return the match (its
        positions are then in the cleaned text from @since)."""
        rx = re.compile(pattern, flags)
        end = time.monotonic() + timeout
        while True:
            text = self.output
            if clean is not None:
                m = rx.search(clean(text[since:]))
            else:
                m = rx.search(text, since)
            if m:
                return m
            with self._cond:
                if self._parts['out']:
                    continue
                left = end - time.monotonic()
                if left <= 0 or self._eof:
                    break
                self._cond.wait(min(left, 0.2))
        raise self.fail('%s waiting for /%s/' % (
            'exited' if self._eof else 'timed out after %.1f s' % timeout, pattern))

    def count(self, pattern, since=0):
        return len(re.findall(pattern, self.output[since:], re.M))

    def send(self, text):
        try:
            self.popen.stdin.write(text.encode())
            self.popen.stdin.flush()
        except (OSError, ValueError) as e:
            raise self.fail('cannot send %r: %s' % (text, e)) from e

    @property
    def pid(self):
        """The pid of the program itself (timeout's child), not of the timeout wrapper."""
        if self._pid is None:
            w = self.popen.pid

            def child():
                kids = read_text('/proc/%d/task/%d/children' % (w, w)).split()
                if not kids and self.popen.poll() is not None:
                    raise self.fail('no program under timeout(1)')
                return int(kids[0]) if kids else None
            self._pid = wait_until(child, 5, '%s to start' % self.name, 0.01)
        return self._pid

    def alive(self):
        return self.popen.poll() is None

    def signal(self, sig):
        """Send @sig to the whole process group."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout):
        """Wait for the process to end; return its exit status (timeout's, which passes
        the program's status through, 124 if it ran out of time, 128+n if killed)."""
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise self.fail('did not exit within %.1f s' % timeout)
        for t in self._threads:
            t.join(5)
        return rc

    def close_stdin(self):
        if self.popen.stdin is not None and not self.popen.stdin.closed:
            try:
                self.popen.stdin.close()
            except OSError:
                pass

    def begin_close(self, first=None):
        """Ask the process to end: @first (a line for its standard input, or a
        signal), and the end of its input."""
        if self.popen.poll() is None:
            if isinstance(first, str):
                try:
                    self.send(first)
                except Failure:
                    pass
            elif first is not None:
                self.signal(first)
        self.close_stdin()

    def finish_close(self, grace=10):
        """Wait @grace s for the process to end, then SIGTERM, SIGKILL 3 s later."""
        for sig, wait in ((None, grace), (signal.SIGTERM, 3), (signal.SIGKILL, 5)):
            if self.popen.poll() is not None:
                break
            if sig is not None:
                self.signal(sig)
            try:
                self.popen.wait(wait)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def close(self, grace=10, first=None):
        self.begin_close(first)
        self.finish_close(grace)

    def kill(self):
        """Kill the whole process group and reap it."""
        if self.popen.poll() is None:
            self.signal(signal.SIGKILL)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.close_stdin()
        for t in self._threads:
            t.join(5)
        with self._cond:
            if self.log is not None:
                self.log.close()


class Group:
    """Everything a test or a benchmark run made: its processes, its directory (@dir,
    made fresh under @parent if not given), the EAL file prefixes it handed out (their
    /var/run/dpdk directories), files elsewhere. cleanup() removes it all. With
    @keep_logs every process writes its output to <dir>/<name>.log as it comes."""

    def __init__(self, stem, dir=None, parent='/tmp', keep_logs=False):
        self.stem = stem
        self.dir = dir or tempfile.mkdtemp(prefix='shmlink-%s-' % stem,
                                                         dir=parent)
        self.keep_logs = keep_logs
        self.procs = []
        self.prefixes = []
        self.files = []
        self._n = 0
        self.cleaned = False

    def path(self, name):
        return os.path.join(self.dir, name)

    def prefix(self, name):
        """A unique EAL file prefix; its runtime directory is removed at cleanup."""
        self._n += 1
        p = 'shm%s-%d-%d-%s' % (self.stem, os.getpid(), self._n, name)
        self.prefixes.append(p)
        return p

    def start(self, name, argv, limit=60, **kw):
        return Proc(self, name, argv, limit, **kw)

    def close(self, procs=None, grace=10):
        """End @procs (default: all), each as its class closes it, all at once."""
        procs = list(self.procs) if procs is None else list(procs)
        for p in procs:
            p.begin_close(p.quit_with)
        for p in procs:
            p.finish_close(grace)
        self.procs = [p for p in self.procs if p not in procs]

    def cleanup(self, save_logs=None):
        """Kill every process; copy the logs to @save_logs if given; remove the rest."""
        if self.cleaned:
            return
        self.cleaned = True
        for p in self.procs:
            p.kill()
        for p in self.prefixes:
            shutil.rmtree(telemetry.runtime_dir(p), ignore_errors=True)
        for f in self.files:
            try:
                os.unlink(f)
            except OSError:
                pass
        if save_logs:
            os.makedirs(save_logs, exist_ok=True)
            for f in os.listdir(self.dir):
                if f.endswith('.log') or f.endswith('.json'):
                    shutil.copy(os.path.join(self.dir, f), save_logs)
        shutil.rmtree(self.dir, ignore_errors=True)
