#!/bin/bash
# edgeup demo on the lab fleet (Linux, root).  `make demo` runs it with EDGEUP=<path to the built edgeup>.
#   EDGEUP=.build/debug/edgeup lab/demo.sh
# env: DEMO_DIR (default /tmp/edgeup-demo), DEMO_SUBNET (default 10.77.0.0/16)
# The fleet stays up afterwards so you can look around; the last lines say how to tear it down.
set -uo pipefail
LAB="$(cd "$(dirname "$0")" && pwd)"
TOOL="$LAB/edgeup-lab"
DIR="${DEMO_DIR:-/tmp/edgeup-demo}"
SUBNET="${DEMO_SUBNET:-10.77.0.0/16}"
EDGEUP="${EDGEUP:-}"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (the lab uses network namespaces and mounts)" >&2; exit 2; }

if [ -e "$DIR/lab.json" ]; then
    say "An earlier demo fleet is still up in $DIR: tearing it down first"
    "$TOOL" down --dir "$DIR" || exit 1
fi
mkdir -p "$DIR"
cat > "$DIR/spec.yaml" <<EOF
subnet: $SUBNET
bastions:
  - {name: bastion-eu}
stores:
  - {name: store-001, servers: 1, agents: 0, labels: {region: eu}}
  - {name: store-002, servers: 1, agents: 0, labels: {region: eu}}
  - {name: store-003, servers: 1, agents: 1, labels: {region: us}}
  - {name: store-ha, servers: 3, agents: 2, gateway: true, via: bastion-eu, labels: {region: eu, tier: critical}}
EOF

say "1. Bring up the fleet: 3 small stores, one HA store (3 etcd servers + 2 agents) behind its gateway, behind a bastion"
show "$TOOL" up --dir "$DIR" --spec "$DIR/spec.yaml" || { echo "demo.sh: lab creation failed" >&2; exit 1; }
show "$TOOL" status --dir "$DIR"

say "2. The inventory the lab wrote, in edgeup's format (plus known_hosts and the lab's SSH key beside it)"
show cat "$DIR/inventory.yaml"

say "3. The gateway chain is real: store-ha's hosts are reachable only through bastion-eu → store-ha-gw"
show ssh -F "$DIR/ssh_config" store-ha-s1 'echo "hello from $(hostname) ($(hostname -I)), $(sudo -n id -un) via sudo"'

say "4. A k3s test double for this machine's arch (edgeup uploads it as /usr/local/bin/k3s)"
mkdir -p "$DIR/bin"
show "$LAB/k3s-double/build" --version v1.31.4+k3s1 -o "$DIR/bin/k3s" && show "$DIR/bin/k3s" --version

say "5. edgeup on this fleet (air gap: edgeup uploads the binary; every store gets the baseline and mqtt-broker playbooks; the demo's kubeconfig and state stay in $DIR)"
export KUBECONFIG="$DIR/kubeconfig" EDGEUP_STATE_DIR="$DIR/state"
sed -e 's|  k3s: {version: v1.31.4+k3s1}|  k3s: {version: v1.31.4+k3s1, binary: ./bin/k3s}\n  playbooks: [baseline, mqtt-broker]|' \
    -e 's|  - name: store-003|  - name: store-003\n    values: {mqtt: {port: 1884, nodePort: 31884}}|' \
    "$DIR/inventory.yaml" > "$DIR/fleet.yaml"
PLAYBOOKS="$(cd "$LAB/.." && pwd)/playbooks"
if [ -z "$EDGEUP" ] || [ ! -x "$EDGEUP" ]; then
    echo "EDGEUP is not set to an executable: skipping (run as: EDGEUP=path/to/edgeup $0)"
else
    step() {
        printf '\033[2m$ edgeup %s\033[0m\n' "$*"
        "$EDGEUP" "$@"
        rc=$?
        echo "→ exit $rc"
    }
    step validate "$DIR/fleet.yaml" --playbooks "$PLAYBOOKS"
    printf '\033[2m$ edgeup render %s --stores store-003 | grep -A9 "kind: Service"\033[0m\n' "$DIR/fleet.yaml"
    "$EDGEUP" render "$DIR/fleet.yaml" --stores store-003 --playbooks "$PLAYBOOKS" | grep -A9 "kind: Service"
    step plan "$DIR/fleet.yaml" --playbooks "$PLAYBOOKS"
    step apply "$DIR/fleet.yaml" --playbooks "$PLAYBOOKS"
    say "6. The result"
    step plan "$DIR/fleet.yaml" --playbooks "$PLAYBOOKS" --detailed-exitcode
    step status "$DIR/fleet.yaml"
    show kubectl config get-contexts
    show kubectl --context store-001 get nodes -o wide
    # store-ha is behind bastion-eu and its gateway: kubectl reaches it through an edgeup tunnel.
    step kubectl "$DIR/fleet.yaml" store-ha -- get nodes -o wide
    step exec "$DIR/fleet.yaml" --stores store-ha --role server -- 'k3s --version | head -1; sudo k3s kubectl get nodes'
    say "7. The playbooks, as the cluster has them (applied server-side by edgeup; the MQTT broker rolled out)"
    step exec "$DIR/fleet.yaml" --stores store-003 --role server -- 'sudo k3s kubectl get ns; sudo k3s kubectl get deploy -n sensors'
    say "8. Upgrade the fleet to v1.32.1: the binary staged on every host first, a snapshot on each first server, servers one at a time, then agents, each gated on the new version"
    show "$LAB/k3s-double/build" --version v1.32.1+k3s1 -o "$DIR/bin/k3s-v1.32.1"
    sed -i 's|  k3s: {version: v1.31.4+k3s1, binary: ./bin/k3s}|  k3s: {version: v1.32.1+k3s1, binary: ./bin/k3s-v1.32.1}|' "$DIR/fleet.yaml"
    step plan "$DIR/fleet.yaml" --playbooks "$PLAYBOOKS" --stores store-ha
    step apply "$DIR/fleet.yaml" --playbooks "$PLAYBOOKS"
    step exec "$DIR/fleet.yaml" --stores store-ha --role server -- 'sudo k3s kubectl get nodes; sudo ls /var/lib/rancher/k3s/server/db/snapshots 2>/dev/null || echo "(no snapshots: not the first server)"'
fi

cat <<EOF

== Look around
  export KUBECONFIG=$DIR/kubeconfig EDGEUP_STATE_DIR=$DIR/state
  $EDGEUP plan $DIR/fleet.yaml --playbooks $PLAYBOOKS    # edit $DIR/fleet.yaml (k3s.config, values) and plan again
  $EDGEUP render $DIR/fleet.yaml --stores store-001 --playbooks $PLAYBOOKS   # what store-001's playbooks send
  kubectl --context store-003 get nodes
  $EDGEUP proxy $DIR/fleet.yaml &                  # then: kubectl --context store-ha get nodes (through its gateways)
  ssh -F $DIR/ssh_config store-001-s1              # as 'edge' (passwordless sudo), strict host keys
  ssh -F $DIR/ssh_config store-ha-a2               # through bastion-eu and store-ha-gw (ProxyJump)
  ssh -i $DIR/id_ed25519 -o UserKnownHostsFile=$DIR/known_hosts edge@<address>   # by hand
  $TOOL host exec --dir $DIR store-001-s1 -- systemctl status k3s
  $TOOL host exec --dir $DIR store-001-s1          # a root shell inside the host
  $TOOL host {restart|stop|start|cut|restore|kill-sshd} --dir $DIR <host>
  $TOOL status --dir $DIR
  machine-readable: $DIR/hosts.json; the k3s double: $DIR/bin/k3s

== Tear down
  $TOOL down --dir $DIR
EOF
