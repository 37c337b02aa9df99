#!/bin/bash
# Upgrade benchmark: N single-host (SQLite) lab stores formed on v1.31.4, then upgraded to v1.32.1
# by one `edgeup apply`. Prints the upgrade run's wall time and client CPU (measure.py, as the
# fleet benchmark measures), and per node the restart window: from the upgrade step (stop, swap)
# to the node Ready on the new kubelet version, read from the run's journal.
#   Benchmarks/upgrade/run.sh [N ...]     (root, Linux; default 100; 1 <= N <= 1000)
# env: BENCH_PARALLEL (edgeup --concurrency and --max-concurrent-stores, default 100),
#      BENCH_SUBNET (default 10.88.0.0/16; must not overlap another lab), EDGEUP (a binary to use)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LAB="$ROOT/lab/edgeup-lab"
PARALLEL="${BENCH_PARALLEL:-100}"
SUBNET="${BENCH_SUBNET:-10.88.0.0/16}"
export PATH="/opt/swift/usr/bin:$PATH" DEBIAN_FRONTEND=noninteractive
SIZES=("${@:-100}")
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (the lab)" >&2; exit 2; }
for N in "${SIZES[@]}"; do
    [[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 1000 ] || { echo "run.sh: N must be 1..1000: $N" >&2; exit 2; }
done
make -s -C "$ROOT" deps
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
if [ -z "${EDGEUP:-}" ]; then
    (cd "$ROOT" && swift build -c release --product edgeup --scratch-path "$ROOT/.build-bench" >/dev/null)
    EDGEUP="$ROOT/.build-bench/release/edgeup"
fi
[ -x "$EDGEUP" ] || { echo "run.sh: no edgeup at $EDGEUP" >&2; exit 2; }

trap 'exit 130' INT TERM
for N in "${SIZES[@]}"; do
    DIR=$(mktemp -d /tmp/edgeup-upgrade-bench.XXXXXX)
    trap '"$LAB" down --dir "$DIR" >/dev/null 2>&1 && rm -rf "$DIR"' EXIT
    "$LAB" up --dir "$DIR" --stores "$N" --subnet "$SUBNET" >/dev/null
    "$ROOT/lab/k3s-double/build" --version v1.31.4+k3s1 -o "$DIR/k3s-131" >/dev/null
    "$ROOT/lab/k3s-double/build" --version v1.32.1+k3s1 -o "$DIR/k3s-132" >/dev/null
    sed 's|  k3s: {version: v1.31.4+k3s1}|  k3s: {version: v1.31.4+k3s1, binary: ./k3s-131}|' "$DIR/inventory.yaml" > "$DIR/before.yaml"
    sed 's|  k3s: {version: v1.31.4+k3s1}|  k3s: {version: v1.32.1+k3s1, binary: ./k3s-132}|' "$DIR/inventory.yaml" > "$DIR/after.yaml"
    export KUBECONFIG="$DIR/kubeconfig" EDGEUP_STATE_DIR="$DIR/state" NO_COLOR=1
    flags=(--concurrency "$PARALLEL" --max-concurrent-stores "$PARALLEL")
    "$EDGEUP" apply "$DIR/before.yaml" "${flags[@]}" >"$DIR/form.log" 2>&1 || { tail -n 20 "$DIR/form.log"; exit 1; }
    echo "== $N single-host stores, v1.31.4+k3s1 -> v1.32.1+k3s1 ($(nproc) cores, parallel $PARALLEL)"
    printf "%-44s %10s %10s %12s %12s %6s\n" "client run" "wall" "CPU" "peak RSS" "peak PSS" "procs"
    line=$(/usr/bin/python3 "$ROOT/Benchmarks/fleet/measure.py" "upgrade apply" "$DIR/upgrade.log" -- \
        "$EDGEUP" apply "$DIR/after.yaml" "${flags[@]}")
    echo "$line"
    case "$line" in *" exit 0"|*" exit 0 "*) ;; *) tail -n 20 "$DIR/upgrade.log"; exit 1 ;; esac
    run=$(ls -t "$DIR/state/runs" | head -n 1)
    /usr/bin/python3 "$HERE/windows.py" "$DIR/state/runs/$run/journal.jsonl" "$N"
    line=$(/usr/bin/python3 "$ROOT/Benchmarks/fleet/measure.py" "plan after" "$DIR/plan.log" -- \
        "$EDGEUP" plan "$DIR/after.yaml" --concurrency "$PARALLEL" --detailed-exitcode)
    echo "$line   (exit 0: nothing left to do)"
    "$LAB" down --dir "$DIR" >/dev/null && rm -rf "$DIR"
    trap - EXIT
done
