#!/usr/bin/python3
"""Restart windows of an upgrade run, from its journal (JSON lines of RunEvent):

    windows.py JOURNAL N

per host, from the step that stops its service (`snapshot` on a SQLite server, which copies the
datastore while stopped, else `upgrade`) to its "node … Ready" event (Ready on the target kubelet
version); prints count, median, p90 and max in seconds, and
checks that N hosts were upgraded."""
import json
import statistics
import sys
from datetime import datetime


def when(event):
    return datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()


def main(path, n):
    stopped, ready = {}, {}
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            host = e.get("host")
            if e.get("kind") == "step-started" and e.get("action") in ("snapshot", "upgrade"):
                stopped.setdefault(host, when(e))
            elif e.get("kind") == "step-finished" and (e.get("message") or "").endswith(" Ready") and host in stopped:
                ready[host] = when(e)
    windows = sorted(ready[h] - stopped[h] for h in ready)
    if len(windows) != n:
        sys.exit(f"windows.py: {len(windows)} of {n} hosts went from upgrade to Ready")
    p90 = windows[min(len(windows) - 1, int(len(windows) * 0.9))]
    print(f"restart window (stop -> Ready on v1.32.1) over {len(windows)} nodes: "
          f"median {statistics.median(windows):.2f} s, p90 {p90:.2f} s, max {windows[-1]:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
