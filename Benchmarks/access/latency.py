#!/usr/bin/env python3
"""Wall time of `kubectl --context CONTEXT get nodes`, run N times one after another (kubectl's own
start-up and API discovery included, as an operator sees it).

  latency.py CONTEXT [-n 20]

Prints one line: runs, median, p90, min, max."""
import argparse, statistics, subprocess, time

ap = argparse.ArgumentParser()
ap.add_argument("context")
ap.add_argument("-n", type=int, default=20)
args = ap.parse_args()
times = []
for _ in range(args.n):
    start = time.monotonic()
    run = subprocess.run(["kubectl", "--context", args.context, "get", "nodes", "-o", "name"], capture_output=True, text=True)
    times.append(time.monotonic() - start)
    if run.returncode != 0:
        raise SystemExit(f"kubectl --context {args.context} failed: {run.stderr.strip()}")
times.sort()
print(f"{args.context:<24} {args.n:>3} runs  median {statistics.median(times) * 1000:6.0f} ms  "
      f"p90 {times[int(len(times) * 0.9) - 1] * 1000:6.0f} ms  min {times[0] * 1000:6.0f} ms  max {times[-1] * 1000:6.0f} ms")
