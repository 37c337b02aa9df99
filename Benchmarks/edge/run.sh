#!/bin/bash
# Edge-link benchmark: a 3-host store (1 server, 2 agents) behind its gateway, the gateway's WAN
# link limited with tbf (the kernel here has tbf, not netem), converged from nothing by one
# `edgeup apply` with an air-gap images tarball — once with `--no-lan-copy` (every host receives
# every artifact from this machine, as before) and once as edgeup does now (each artifact crosses
# the WAN link once, the other hosts copy it across the store's LAN). Prints wall time, the bytes
# the gateway's WAN interface received, and edgeup's own count of bytes sent.
#   Benchmarks/edge/run.sh [RATE]      (root, Linux; RATE as tc takes it, default 40mbit)
# env: BENCH_IMAGES_MB (tarball size, default 48), BENCH_SUBNET (default 10.76.0.0/16), EDGEUP
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LAB="$ROOT/lab/edgeup-lab"
RATE="${1:-40mbit}"
MB="${BENCH_IMAGES_MB:-48}"
SUBNET="${BENCH_SUBNET:-10.76.0.0/16}"
export PATH="/opt/swift/usr/bin:$PATH" DEBIAN_FRONTEND=noninteractive
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (the lab)" >&2; exit 2; }
make -s -C "$ROOT" deps
if [ -z "${EDGEUP:-}" ]; then
    (cd "$ROOT" && swift build -c release --product edgeup --scratch-path "$ROOT/.build-bench" >/dev/null)
    EDGEUP="$ROOT/.build-bench/release/edgeup"
fi
[ -x "$EDGEUP" ] || { echo "run.sh: no edgeup at $EDGEUP" >&2; exit 2; }
DIR=$(mktemp -d /tmp/edgeup-edge-bench.XXXXXX)
trap '"$LAB" down --dir "$DIR/lab" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
trap 'exit 130' INT TERM
printf 'stores:\n  - {name: shop, servers: 1, agents: 2, gateway: true}\n' > "$DIR/spec.yaml"
head -c $((MB * 1000000)) /dev/urandom > "$DIR/k3s-airgap-images-amd64.tar"
"$ROOT/lab/k3s-double/build" --version v1.31.4+k3s1 -o "$DIR/k3s" >/dev/null
BINARY=$(stat -c %s "$DIR/k3s")

echo "== 3-host store behind its gateway, WAN link tbf $RATE, artifacts: ${MB} MB images + $((BINARY / 1000)) kB binary ($(nproc) cores)"
printf "%-28s %9s %14s %14s %8s\n" "way" "wall" "WAN received" "edgeup sent" "exit"
for way in no-lan-copy lan-copy; do
    "$LAB" down --dir "$DIR/lab" >/dev/null 2>&1 || true
    "$LAB" up --dir "$DIR/lab" --spec "$DIR/spec.yaml" --subnet "$SUBNET" >/dev/null
    cp "$DIR/k3s" "$DIR/k3s-airgap-images-amd64.tar" "$DIR/lab/"
    sed 's|  k3s: {version: v1.31.4+k3s1}|  k3s: {version: v1.31.4+k3s1, binary: ./k3s, airgapImages: ./k3s-airgap-images-amd64.tar}|' \
        "$DIR/lab/inventory.yaml" > "$DIR/lab/fleet.yaml"
    veth=$(/usr/bin/python3 -c "import json,sys; h=[h for h in json.load(open(sys.argv[1]))['hosts'] if h['name']=='shop-gw'][0]; print(h['veths'][0])" "$DIR/lab/hosts.json")
    tc qdisc replace dev "$veth" root tbf rate "$RATE" burst 64kb latency 400ms
    rx() { "$LAB" host exec --dir "$DIR/lab" shop-gw -- cat /sys/class/net/eth0/statistics/rx_bytes; }
    before=$(rx)
    flags=(); [ "$way" = no-lan-copy ] && flags=(--no-lan-copy)
    start=$(date +%s.%N)
    set +e
    KUBECONFIG="$DIR/kubeconfig" EDGEUP_STATE_DIR="$DIR/state-$way" NO_COLOR=1 "$EDGEUP" apply "$DIR/lab/fleet.yaml" "${flags[@]}" > "$DIR/$way.log" 2>&1
    status=$?
    set -e
    wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    received=$(( $(rx) - before ))
    sent=$(grep -o 'uploaded  *[0-9.]* [kMG]B' "$DIR/$way.log" | tail -n 1 | sed 's/uploaded  *//')
    printf "%-28s %8.1fs %11.1f MB %14s %8s\n" "$way" "$wall" "$(awk -v r="$received" 'BEGIN { print r / 1000000 }')" "${sent:--}" "$status"
    [ "$status" = 0 ] || tail -n 20 "$DIR/$way.log"
done
