# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""What else the machine was doing while we measured, for the benchmarks.

The hosts of these machines change speed between minutes, so every measurement records
the CPU that processes other than ours used and the steal over its window, waits for a
quiet moment first (bounded), and times a cache line's round trip between the two CPUs
(test/bench/xcpu_rtt): the host may run the two vCPUs on cores that share a cache or
not, which moves every case whose frames cross CPUs.
"""

import os
import re
import subprocess
import time

from .proc import cpu_ticks, ctx_switches, read_text, stat_fields

HZ = os.sysconf('SC_CLK_TCK')


def cpu_lines():
    """{cpu: [user, nice, system, idle, iowait, irq, softirq, steal, ...]} from
    /proc/stat; the key '' is the whole machine."""
    out = {}
    for line in read_text('/proc/stat').splitlines():
        m = re.match(r'cpu(\d*)\s+(.*)', line)
        if m:
            out[m.group(1)] = [int(x) for x in m.group(2).split()] + [0] * 8
    return out


def busy(v, steal=False):
    """Busy ticks of one /proc/stat cpu line (with the steal if @steal)."""
    return v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if steal else 0)


class CpuSampler:
    """CPU time used by processes that are not ours, and steal, over an interval.
    @ours() gives the process groups that are ours (this process always is)."""

    def __init__(self, ours):
        self.ours = ours

    def snap(self):
        lines = cpu_lines()
        total = lines.get('', [0] * 8)
        cpu_busy = {int(c): busy(v) for c, v in lines.items() if c}
        pgids = self.ours()
        me = os.getpid()
        ours, ours_cpu, others = 0, {}, {}  # ours_cpu: by the CPU each task last ran on
        for d in os.listdir('/proc'):
            if not d.isdigit():
                continue
            st = read_text('/proc/%s/stat' % d)
            if not st:
                continue
            rest = st[st.rfind(')') + 2:].split()
            try:
                ticks = int(rest[11]) + int(rest[12])
                if int(rest[2]) in pgids or int(d) == me:
                    ours += ticks
                    for t in os.listdir('/proc/%s/task' % d):
                        tr = stat_fields(int(d), t)
                        if len(tr) > 36:
                            cpu = int(tr[36])
                            ours_cpu[cpu] = ours_cpu.get(cpu, 0) + int(tr[11]) + int(tr[12])
                else:
                    others[int(d)] = (st[st.find('(') + 1:st.rfind(')')], ticks)
            except (IndexError, ValueError, OSError):
                continue
        return time.monotonic(), busy(total), total[7], ours, others, cpu_busy, ours_cpu

    @staticmethod
    def delta(a, b):
        """(CPUs used by others, CPUs of steal, the top three others {name: CPUs},
        [CPUs used by others on each CPU])."""
        dt = max(b[0] - a[0], 1e-3)
        foreign = max(0, (b[1] - a[1]) - (b[3] - a[3])) / HZ / dt
        steal = max(0, b[2] - a[2]) / HZ / dt
        use = {}
        for pid, (comm, ticks) in b[4].items():
            t = ticks - a[4].get(pid, (comm, 0))[1]
            if t > 0:
                use[comm] = use.get(comm, 0) + t
        top = sorted(use.items(), key=lambda x: -x[1])[:3]
        per_cpu = [round(max(0, (b[5][c] - a[5].get(c, 0)) -
                             (b[6].get(c, 0) - a[6].get(c, 0))) / HZ / dt, 2)
                   for c in sorted(b[5])]
        return round(foreign, 3), round(steal, 3), \
            {c: round(t / HZ / dt, 2) for c, t in top}, per_cpu


def proc_snap(pids):
    """(time, {name: CPU ticks}, [busy ticks with steal of each CPU], {name: context
    switches}) of the processes @pids ({name: pid})."""
    per_cpu = [busy(v, steal=True) for c, v in sorted(cpu_lines().items(),
                                                       key=lambda x: int(x[0] or -1)) if c]
    return (time.monotonic(), {n: cpu_ticks(p) for n, p in pids.items()}, per_cpu,
            {n: ctx_switches(p) for n, p in pids.items()})


def proc_delta(a, b):
    """CPUs used by each process, by each CPU and by other processes; context switches
    per second of each process, between two proc_snap()s."""
    dt = b[0] - a[0]
    procs = {k: round((b[1][k] - a[1][k]) / HZ / dt, 3) for k in b[1]}
    machine = [round((y - x) / HZ / dt, 3) for x, y in zip(a[2], b[2])]
    others = max(0.0, sum(machine) - sum(procs.values()))
    ctx = {k: round((b[3][k] - a[3][k]) / dt) for k in b[3]}
    return procs, machine, round(others, 3), ctx


def foreign_runnable(span):
    """Mean number of runnable threads besides this one, over @span seconds."""
    n, k = 0, 10
    for _ in range(k):
        m = re.search(r'^procs_running\s+(\d+)', read_text('/proc/stat'), re.M)
        n += max(0, int(m.group(1)) - 1) if m else 0
        time.sleep(span / k)
    return n / k


class QuietGate:
    """Before each measurement, wait (bounded) until no other process is runnable.

    The budget of @budget s is spread over @total measurements: each adds its share to
    an allowance that waits draw on (never more than @longest s at once), so a busy
    start does not use it all up."""

    def __init__(self, budget, longest, total, below=0.2):
        self.budget, self.longest, self.total, self.below = budget, longest, total, below
        self.allowance = 0.0
        self.spent = 0.0

    def wait(self):
        """(seconds waited, runnable threads of others when it stopped waiting)."""
        self.allowance += self.budget / max(1, self.total)
        limit = min(self.longest, self.allowance)
        t0 = time.monotonic()
        load = 0.0
        while self.longest > 0:
            load = foreign_runnable(0.1)
            if load < self.below or time.monotonic() - t0 >= limit:
                break
            time.sleep(0.5)
        waited = time.monotonic() - t0
        self.spent += waited
        self.allowance = max(0.0, self.allowance - waited)
        return waited, load


def xcpu_rtt_exe(build):
    """test/bench/xcpu_rtt of build directory @build, or '' if it was not built."""
    exe = os.path.join(build, 'test', 'bench', 'xcpu_rtt')
    return exe if os.access(exe, os.X_OK) else ''


def xcpu_rtt(exe, cpus):
    """Round trip of a cache line between CPUs @cpus[0] and @cpus[1] in ns, timed by
    @exe (xcpu_rtt_exe()), or None without it."""
    if not exe:
        return None
    try:
        out = subprocess.run([exe] + [str(c) for c in cpus[:2]], capture_output=True,
                             text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.match(r'xcpu_rtt_ns ([\d.]+)', out)
    return float(m.group(1)) if m else None
