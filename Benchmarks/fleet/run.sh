#!/bin/bash
# Fleet benchmark: edgeup plan and apply on N single-host lab stores, side by side with a peer doing
# the plan's work (the same probe on every host) with plain ssh at the same parallelism.
#   Benchmarks/fleet/run.sh [N ...]        (root, Linux; default: 100)
# Prints wall time, client CPU (user+sys, children included) and peak RSS of the client's largest
# process (edgeup is one process; the peer runs one ssh per host at once, so its total is higher).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
LAB="$ROOT/lab/edgeup-lab"
PARALLEL="${BENCH_PARALLEL:-100}"
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (the lab)" >&2; exit 2; }
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
(cd "$ROOT" && swift build -c release --product edgeup >/dev/null)
EDGEUP="$ROOT/.build/release/edgeup"

measure() {  # label, command...: prints "label  wall  cpu  rss" and the command's exit code
    local label=$1; shift
    local out; out=$(mktemp)
    set +e
    /usr/bin/time -f "%e %U %S %M" -o "$out" "$@" >/dev/null 2>&1
    local rc=$?
    set -e
    tail -n 1 "$out" > "$out.last"; mv "$out.last" "$out"
    awk -v label="$label" -v rc="$rc" '{ printf "%-38s %8.1f s %8.1f s %9.1f MB   exit %d\n", label, $1, $2 + $3, $4 / 1024, rc }' "$out"
    rm -f "$out"
}

for N in "${@:-100}"; do
    DIR=$(mktemp -d /tmp/edgeup-fleet-bench-XXXX)
    trap '"$LAB" down --dir "$DIR" >/dev/null 2>&1 || true' EXIT
    "$LAB" up --dir "$DIR" --stores "$N" --subnet 10.88.0.0/16 >/dev/null
    "$ROOT/lab/k3s-double/build" --version v1.31.4+k3s1 -o "$DIR/k3s" >/dev/null
    sed 's|  k3s: {version: v1.31.4+k3s1}|  k3s: {version: v1.31.4+k3s1, binary: ./k3s}|' "$DIR/inventory.yaml" > "$DIR/fleet.yaml"
    export KUBECONFIG="$DIR/kubeconfig" EDGEUP_STATE_DIR="$DIR/state" NO_COLOR=1
    awk '/address:/ { for (i = 1; i <= NF; i++) if ($i == "address:") { a = $(i + 1); gsub(/[,}]/, "", a); print a } }' "$DIR/inventory.yaml" | grep '^10\.88\.' > "$DIR/addresses"
    SSH=(ssh -F none -i "$DIR/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$DIR/known_hosts" -o KexAlgorithms=curve25519-sha256)
    echo "== $N single-host stores (parallelism $PARALLEL; key exchange curve25519-sha256)"
    printf '%-38s %10s %10s %12s\n' "" "wall" "cpu" "peak RSS"
    measure "edgeup plan (nothing installed)" "$EDGEUP" plan "$DIR/fleet.yaml" --concurrency "$PARALLEL"
    PEER="xargs -P $PARALLEL -I{} sh -c '${SSH[*]} edge@{} \"sudo -n sh -s\" < $ROOT/Benchmarks/fleet/probe.sh >/dev/null' < $DIR/addresses"
    measure "peer: xargs -P ssh probe" sh -c "$PEER"
    measure "edgeup apply (install all)" "$EDGEUP" apply "$DIR/fleet.yaml" --concurrency "$PARALLEL" --max-concurrent-stores "$PARALLEL"
    measure "edgeup plan (converged)" "$EDGEUP" plan "$DIR/fleet.yaml" --concurrency "$PARALLEL" --detailed-exitcode
    measure "peer: xargs -P ssh probe (converged)" sh -c "$PEER"
    "$LAB" down --dir "$DIR" >/dev/null
    trap - EXIT
done
