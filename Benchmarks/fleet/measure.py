#!/usr/bin/python3
"""Measure one client run of the fleet benchmark.

    measure.py LABEL LOG -- CMD [ARG ...]

Runs CMD (stdin /dev/null, stdout and stderr to LOG) and prints one line:
LABEL, wall time (until CMD exits), client CPU (user+sys of CMD and of every process it started,
including processes that outlive it, such as ssh ControlPersist masters), peak RSS of the largest
single process, peak sum of PSS over all of the client's processes (sampled), the most client
processes seen at once, and CMD's exit code.

CMD runs under /usr/bin/time, which reports wall time, CPU and peak RSS of CMD and of the
descendants it waits for. (Not this Python process's own getrusage: a child's peak RSS includes
the ~10 MB of the Python process it was forked from, which would hide an 8 MB ssh.)
This process is also a child subreaper: processes that CMD's descendants detach (ssh's
ControlPersist master forks itself into the background) are reparented here instead of to init,
so /usr/bin/time never sees them. When CMD exits, whatever it left running is sent SIGTERM (it
would otherwise linger: Ansible's masters stay 60 s) and reaped here with wait4, and their CPU
and peak RSS are added.
The PSS sampler (every 0.02 s at first, doubling up to BENCH_SAMPLE_SECONDS, default 0.5) reads /proc/PID/smaps_rollup of every
process below /usr/bin/time (and of the detached ones); its own CPU is this process's, not the
client's.
"""
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

PR_SET_CHILD_SUBREAPER = 36


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    out += [int(x) for x in f.read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


def descendants(pid):
    seen, todo = [], [pid]
    while todo:
        for c in children(todo.pop()):
            seen.append(c)
            todo.append(c)
    return seen


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.exit("usage: measure.py LABEL LOG -- CMD [ARG ...]")
    label, log, cmd = sys.argv[1], sys.argv[2], sys.argv[4:]
    interval = float(os.environ.get("BENCH_SAMPLE_SECONDS", "0.5"))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"measure.py: prctl(PR_SET_CHILD_SUBREAPER) failed: {os.strerror(ctypes.get_errno())}")
    me = os.getpid()
    peak = {"pss": 0, "procs": 0}
    stop = threading.Event()

    def sample(timer):  # the client's processes: everything below us except /usr/bin/time itself
        wait = 0.02     # short runs get samples too: 0.02 s, doubling up to the interval
        while not stop.wait(wait):
            procs = [p for p in descendants(me) if p != timer]
            peak["pss"] = max(peak["pss"], sum(pss_kb(p) for p in procs))
            peak["procs"] = max(peak["procs"], len(procs))
            wait = min(interval, wait * 2)

    fd, tfile = tempfile.mkstemp(prefix="measure-")
    os.close(fd)
    with open(log, "wb") as out:
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%e %U %S %M", "-o", tfile, *cmd],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        sampler = threading.Thread(target=sample, args=(proc.pid,), daemon=True)
        sampler.start()
        rc = proc.wait()
    stop.set()
    sampler.join()
    with open(tfile) as f:
        wall, user, system, maxrss_kb = f.read().split("\n")[-2].split()
    os.unlink(tfile)
    cpu, maxrss_kb = float(user) + float(system), int(maxrss_kb)

    # Leftovers (detached ssh masters): end them and reap them here, adding their CPU and RSS.
    deadline = time.monotonic() + 10
    left = [p for p in descendants(me) if not zombie(p)]
    for p in left:
        try:
            os.kill(p, signal.SIGTERM)
        except OSError:
            pass
    while True:
        try:
            pid, _, ru = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid:
            cpu += ru.ru_utime + ru.ru_stime
            maxrss_kb = max(maxrss_kb, ru.ru_maxrss)
            continue
        if time.monotonic() > deadline:
            for p in descendants(me):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        time.sleep(0.05)

    print(f"{label:<44} {float(wall):8.1f} s {cpu:8.1f} s {maxrss_kb / 1024:9.1f} MB "
          f"{peak['pss'] / 1024:9.1f} MB {peak['procs']:6d}   exit {rc}"
          + (f"  ({len(left)} detached processes ended)" if left else ""), flush=True)


if __name__ == "__main__":
    main()
