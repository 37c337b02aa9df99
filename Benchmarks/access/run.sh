#!/bin/bash
# Access benchmark: kubectl through `edgeup proxy` against kubectl direct. A lab with a store
# reached directly, one behind its own gateway and one behind a bastion and its gateway, formed by
# edgeup (not measured); then, with the proxy running:
#   - latency of `kubectl get nodes` (N runs one after another): the direct store directly, the
#     same store through the proxy (a copy of its context with proxy-url), one hop, one hop through
#     OpenSSH's own forwarding (`ssh -L`, the peer), two hops;
#   - connections per second (TLS handshake with client certificate, GET /version, close) at
#     concurrency 1 and 20, for the same five ways.
#   Benchmarks/access/run.sh [N]     (root, Linux; default 30 kubectl runs)
# env: BENCH_SUBNET (default 10.94.0.0/16; must not overlap another lab), EDGEUP (a binary to use),
#      BENCH_CONNECTIONS (per measurement, default 500)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LAB="$ROOT/lab/edgeup-lab"
SUBNET="${BENCH_SUBNET:-10.94.0.0/16}"
RUNS="${1:-30}"
CONNECTIONS="${BENCH_CONNECTIONS:-500}"
export PATH="/opt/swift/usr/bin:$PATH" DEBIAN_FRONTEND=noninteractive
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (the lab)" >&2; exit 2; }
[[ "$RUNS" =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 1 ] || { echo "run.sh: N must be a positive number: $RUNS" >&2; exit 2; }
make -s -C "$ROOT" deps
if [ -z "${EDGEUP:-}" ]; then
    (cd "$ROOT" && swift build -c release --product edgeup --scratch-path "$ROOT/.build-bench" >/dev/null)
    EDGEUP="$ROOT/.build-bench/release/edgeup"
fi
[ -x "$EDGEUP" ] || { echo "run.sh: no edgeup at $EDGEUP" >&2; exit 2; }

DIR=$(mktemp -d /tmp/edgeup-access-bench.XXXXXX)
PROXY_PID=""
SSH_PID=""
cleanup() {
    [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null || true
    [ -n "$SSH_PID" ] && kill "$SSH_PID" 2>/dev/null || true
    "$LAB" down --dir "$DIR/lab" >/dev/null 2>&1 && rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cat > "$DIR/spec.yaml" <<'SPEC'
bastions:
  - {name: bastion}
stores:
  - {name: direct, servers: 1, agents: 0}
  - {name: one-hop, servers: 1, agents: 0, gateway: true}
  - {name: two-hops, servers: 1, agents: 0, gateway: true, via: bastion}
SPEC
"$LAB" up --dir "$DIR/lab" --spec "$DIR/spec.yaml" --subnet "$SUBNET" >/dev/null
"$ROOT/lab/k3s-double/build" --version v1.31.4+k3s1 -o "$DIR/lab/k3s" >/dev/null
sed 's|  k3s: {version: v1.31.4+k3s1}|  k3s: {version: v1.31.4+k3s1, binary: ./k3s}|' "$DIR/lab/inventory.yaml" > "$DIR/lab/fleet.yaml"
PORT=$(/usr/bin/python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
export KUBECONFIG="$DIR/kubeconfig" EDGEUP_STATE_DIR="$DIR/state" NO_COLOR=1 EDGEUP_PROXY="127.0.0.1:$PORT"
"$EDGEUP" apply "$DIR/lab/fleet.yaml" >"$DIR/apply.log" 2>&1 || { tail -n 20 "$DIR/apply.log"; exit 1; }

# The direct store once more, through the proxy: same server, same credentials, one more leg.
ADDRESS=$(kubectl config view -o jsonpath='{.clusters[?(@.name=="direct")].cluster.server}' | sed -E 's|https://([^:]+):.*|\1|')
kubectl config set-cluster direct-via-proxy --server="https://direct.edgeup.invalid:6443" \
    --tls-server-name="$ADDRESS" --proxy-url="socks5://127.0.0.1:$PORT" >/dev/null
kubectl config set "clusters.direct-via-proxy.certificate-authority-data" \
    "$(kubectl config view --raw -o jsonpath='{.clusters[?(@.name=="direct")].cluster.certificate-authority-data}')" >/dev/null
kubectl config set-context direct-via-proxy --cluster=direct-via-proxy --user=direct >/dev/null

# The peer: OpenSSH's own forwarding to the one-hop store (ssh -L through its gateway).
LPORT=$(/usr/bin/python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
ssh -F "$DIR/lab/ssh_config" -o ExitOnForwardFailure=yes -N -L "127.0.0.1:$LPORT:192.168.50.11:6443" one-hop-gw &
SSH_PID=$!
kubectl config set-cluster one-hop-ssh-L --server="https://127.0.0.1:$LPORT" --tls-server-name=192.168.50.11 >/dev/null
kubectl config set "clusters.one-hop-ssh-L.certificate-authority-data" \
    "$(kubectl config view --raw -o jsonpath='{.clusters[?(@.name=="one-hop")].cluster.certificate-authority-data}')" >/dev/null
kubectl config set-context one-hop-ssh-L --cluster=one-hop-ssh-L --user=one-hop >/dev/null

"$EDGEUP" proxy "$DIR/lab/fleet.yaml" >"$DIR/proxy.out" 2>"$DIR/proxy.log" &
PROXY_PID=$!
for _ in $(seq 100); do grep -q "listening on" "$DIR/proxy.out" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on" "$DIR/proxy.out" || { cat "$DIR/proxy.log"; exit 1; }
CONTEXTS=(direct direct-via-proxy one-hop one-hop-ssh-L two-hops)
for context in "${CONTEXTS[@]}"; do kubectl --context "$context" get nodes >/dev/null; done  # warm: gateway logins

echo "== kubectl get nodes, $RUNS runs each, one after another ($(nproc) cores; k3s double; $(kubectl version --client -o json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])'))"
for context in "${CONTEXTS[@]}"; do /usr/bin/python3 "$HERE/latency.py" "$context" -n "$RUNS"; done
for concurrency in 1 20; do
    echo "== connections ($CONNECTIONS each: TLS with client certificate, GET /version, close), concurrency $concurrency"
    for context in "${CONTEXTS[@]}"; do /usr/bin/python3 "$HERE/connections.py" "$context" -n "$CONNECTIONS" -c "$concurrency"; done
done
kill "$PROXY_PID"; wait "$PROXY_PID" || true; PROXY_PID=""
echo "== proxy: $(grep -c ' → ' "$DIR/proxy.log") connections logged, $(grep -c 'refused' "$DIR/proxy.log" || true) refused"
