#!/bin/bash
# Fleet benchmark: edgeup plan and apply on N single-host lab stores, side by side with peers doing
# the plan's work (the same probe on every host, through sudo) at the same parallelism: xargs -P over
# plain ssh, and Ansible (ansible-core from PyPI, ad-hoc `script` module with become).
#   Benchmarks/fleet/run.sh [N ...]        (root, Linux; default: 100; 1 <= N <= 1000)
# env: BENCH_PARALLEL (default 100: edgeup --concurrency, xargs -P, ansible -f),
#      BENCH_SUBNET (the lab network, default 10.88.0.0/16; must not overlap another lab),
#      EDGEUP (an edgeup binary to use instead of building one), BENCH_ANSIBLE=0 (skip Ansible),
#      BENCH_ANSIBLE_CORE (default 2.19.14), BENCH_ANSIBLE_VENV (default .build-bench/ansible-venv),
#      BENCH_MEM_CHECK=0 (skip the free-memory guard), BENCH_SAMPLE_SECONDS (PSS sampling, 0.5)
# Prints per client run: wall time, client CPU (user+sys, children and detached ssh masters
# included), peak RSS of the client's largest process, peak sum of PSS of all its processes
# (sampled) and the most processes it had at once. See README.md.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LAB="$ROOT/lab/edgeup-lab"
PARALLEL="${BENCH_PARALLEL:-100}"
SUBNET="${BENCH_SUBNET:-10.88.0.0/16}"
ANSIBLE_CORE="${BENCH_ANSIBLE_CORE:-2.19.14}"
ANSIBLE_VENV="${BENCH_ANSIBLE_VENV:-$ROOT/.build-bench/ansible-venv}"
export PATH="/opt/swift/usr/bin:$PATH" DEBIAN_FRONTEND=noninteractive
SIZES=("${@:-100}")
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (the lab)" >&2; exit 2; }
for N in "${SIZES[@]}"; do
    [[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 1000 ] ||
        { echo "run.sh: N must be 1..1000 (the lab puts every store on one bridge, at most 1,000 ports): $N" >&2; exit 2; }
done
[[ "$PARALLEL" =~ ^[0-9]+$ ]] && [ "$PARALLEL" -ge 1 ] || { echo "run.sh: BENCH_PARALLEL must be a positive integer" >&2; exit 2; }

# Memory, everything alive at once during the converged runs: a converged lab host (sshd, the k3s
# double's server, its supervisor) ~17 MB; Ansible ~25 MB per parallel host (a forked worker and
# its ssh, measured 22-25 MB PSS) plus ~2.5 MB per host for its idle ControlPersist ssh masters
# (kept 60 s); without Ansible ~3 MB per parallel ssh; 512 MB for the rest (edgeup ~70 MB).
# Refuse when MemAvailable is below that.
mem_check() {  # N
    [ "${BENCH_MEM_CHECK:-1}" = 0 ] && return 0
    local n=$1 par avail need clients what
    par=$(( PARALLEL < n ? PARALLEL : n ))
    if [ "${BENCH_ANSIBLE:-1}" = 0 ]; then
        clients=$(( par * 3 )); what="$par parallel ssh x 3 MB"
    else
        clients=$(( par * 25 + n * 5 / 2 )); what="Ansible: $par forks x 25 MB + $n ssh masters x 2.5 MB"
    fi
    avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
    need=$(( n * 17 + clients + 512 ))
    if [ "$avail" -lt "$need" ]; then
        echo "run.sh: not enough free memory for $n stores: needs ~$need MB ($n converged hosts x 17 MB +" \
             "$what + 512 MB), MemAvailable is $avail MB." >&2
        echo "run.sh: free memory, choose a smaller N or BENCH_PARALLEL, BENCH_ANSIBLE=0, or BENCH_MEM_CHECK=0 to run anyway." >&2
        exit 3
    fi
}
for N in "${SIZES[@]}"; do mem_check "$N"; done

# The lab's and the build's packages (make deps: apt-get update + install when missing), /usr/bin/time.
make -s -C "$ROOT" deps
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
if [ -z "${EDGEUP:-}" ]; then
    # Own scratch path (git-ignored .build-*), so the benchmark never shares .build with a developer.
    (cd "$ROOT" && swift build -c release --product edgeup --scratch-path "$ROOT/.build-bench" >/dev/null)
    EDGEUP="$ROOT/.build-bench/release/edgeup"
fi
[ -x "$EDGEUP" ] || { echo "run.sh: no edgeup at $EDGEUP" >&2; exit 2; }

# Ansible: ansible-core from PyPI into a venv outside git (default .build-bench/ansible-venv), made
# with Debian's python3 (python3-venv installed when missing). On any failure the Ansible peer is
# skipped, with the reason printed in the results.
ANSIBLE_SKIP=""
setup_ansible() {
    [ "${BENCH_ANSIBLE:-1}" = 0 ] && { ANSIBLE_SKIP="BENCH_ANSIBLE=0"; return; }
    local have="" log
    [ -x "$ANSIBLE_VENV/bin/ansible" ] &&
        have=$("$ANSIBLE_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("ansible-core"))' 2>/dev/null || true)
    [ "$have" = "$ANSIBLE_CORE" ] && return
    if ! /usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null; then
        if ! log=$( { apt-get update -qq && apt-get install -y -qq python3-venv; } 2>&1 ); then
            ANSIBLE_SKIP="apt-get install python3-venv failed: $(printf '%s\n' "$log" | tail -n 1)"; return
        fi
    fi
    rm -rf "$ANSIBLE_VENV"
    if ! log=$(/usr/bin/python3 -m venv "$ANSIBLE_VENV" 2>&1); then
        ANSIBLE_SKIP="python3 -m venv failed: $(printf '%s\n' "$log" | tail -n 1)"; rm -rf "$ANSIBLE_VENV"; return
    fi
    echo "installing ansible-core==$ANSIBLE_CORE from PyPI into $ANSIBLE_VENV"
    if ! log=$("$ANSIBLE_VENV/bin/pip" install -q --disable-pip-version-check --timeout 20 --retries 1 \
                 "ansible-core==$ANSIBLE_CORE" 2>&1); then
        local why
        why=$(printf '%s\n' "$log" | grep -o -m 1 -E "Failed to establish a new connection: [^)']*|Temporary failure in name resolution|Read timed out|Connection to [^ ]* timed out|SSLError[^)']*" || true)
        ANSIBLE_SKIP="pip install ansible-core==$ANSIBLE_CORE failed: ${why:+PyPI unreachable: $why; }$(printf '%s\n' "$log" | grep -v '^ *$' | tail -n 1)"
        rm -rf "$ANSIBLE_VENV"
    fi
}
setup_ansible
[ -n "$ANSIBLE_SKIP" ] && echo "Ansible peer skipped: $ANSIBLE_SKIP"

RUN=0
measure() {  # label, command...: one result line (measure.py); on failure, the tail of the output
    local label=$1; shift
    RUN=$((RUN + 1))
    local log="$DIR/run-$RUN.log" line
    line=$(/usr/bin/python3 "$HERE/measure.py" "$label" "$log" -- "$@")
    echo "$line"
    case "$line" in *" exit 0"|*" exit 0 "*) ;; *) sed 's/^/    | /' "$log" | tail -n 5 ;; esac
}

# Every client reaches the hosts from this (the root) network namespace, over the lab's own bridge,
# where the root namespace has the lab network's first address. Make sure that is where the
# addresses lead before any client sends a packet (never to this machine's default route).
check_routes() {
    local bridge a dev
    bridge=$(/usr/bin/python3 -c 'import json, sys; print(next(b["name"] for b in json.load(open(sys.argv[1]))["bridges"] if b["kind"] == "main"))' "$DIR/lab.json")
    [ "$(wc -l < "$DIR/addresses")" = "$N" ] || { echo "run.sh: expected $N addresses in $SUBNET, found $(wc -l < "$DIR/addresses")" >&2; exit 1; }
    for a in $(head -n 1 "$DIR/addresses") $(tail -n 1 "$DIR/addresses"); do
        dev=$(ip -o route get "$a" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
        [ "$dev" = "$bridge" ] || { echo "run.sh: $a would leave via $dev, not the lab bridge $bridge: refusing" >&2; exit 1; }
    done
}

write_ansible_files() {  # inventory and ansible.cfg in the lab dir: same user, key, known_hosts, kex as the ssh peer
    mkdir -p "$DIR/ansible"
    {
        echo "[fleet]"
        cat "$DIR/addresses"
        echo "[fleet:vars]"
        echo "ansible_user=edge"
        echo "ansible_ssh_private_key_file=$DIR/id_ed25519"
        echo "ansible_ssh_common_args='-F none -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$DIR/known_hosts -o KexAlgorithms=curve25519-sha256'"
    } > "$DIR/ansible/hosts.ini"
    cat > "$DIR/ansible/ansible.cfg" <<EOF
[defaults]
inventory = $DIR/ansible/hosts.ini
forks = $PARALLEL
host_key_checking = True
interpreter_python = /usr/bin/python3
retry_files_enabled = False
[ssh_connection]
# Ansible's defaults, stated: one master connection per host, reused by the module's steps
ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s
EOF
}

ansible_peer() {  # label
    if [ -n "$ANSIBLE_SKIP" ]; then printf '%-44s skipped: Ansible not installed (see above)\n' "$1"; return; fi
    local cp; cp=$(mktemp -d "$DIR/ansible/cp-XXXX")   # fresh control sockets: no connection reused across runs
    measure "$1" env ANSIBLE_CONFIG="$DIR/ansible/ansible.cfg" ANSIBLE_HOME="$DIR/ansible/home" \
        ANSIBLE_SSH_CONTROL_PATH_DIR="$cp" LC_ALL=C.UTF-8 \
        "$ANSIBLE_VENV/bin/ansible" all -f "$PARALLEL" -b -m script -a "$HERE/probe.sh executable=/bin/sh"
}

trap 'exit 130' INT TERM
for N in "${SIZES[@]}"; do
    mem_check "$N"
    DIR=$(mktemp -d /tmp/edgeup-fleet-bench-XXXX)
    trap '"$LAB" down --dir "$DIR" >/dev/null 2>&1 && rm -rf "$DIR"' EXIT   # even on failure or ^C
    "$LAB" up --dir "$DIR" --stores "$N" --subnet "$SUBNET" >/dev/null
    "$ROOT/lab/k3s-double/build" --version v1.31.4+k3s1 -o "$DIR/k3s" >/dev/null
    sed 's|  k3s: {version: v1.31.4+k3s1}|  k3s: {version: v1.31.4+k3s1, binary: ./k3s}|' "$DIR/inventory.yaml" > "$DIR/fleet.yaml"
    export KUBECONFIG="$DIR/kubeconfig" EDGEUP_STATE_DIR="$DIR/state" NO_COLOR=1
    awk '/address:/ { for (i = 1; i <= NF; i++) if ($i == "address:") { a = $(i + 1); gsub(/[,}]/, "", a); print a } }' "$DIR/inventory.yaml" |
        /usr/bin/python3 -c 'import ipaddress, sys; net = ipaddress.ip_network(sys.argv[1])
for a in sys.stdin.read().split():
    if ipaddress.ip_address(a) in net: print(a)' "$SUBNET" > "$DIR/addresses"
    check_routes
    write_ansible_files
    SSH=(ssh -F none -i "$DIR/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$DIR/known_hosts" -o KexAlgorithms=curve25519-sha256)
    PEER="xargs -P $PARALLEL -I{} sh -c '${SSH[*]} edge@{} \"sudo -n sh -s\" < $HERE/probe.sh >/dev/null' < $DIR/addresses"
    echo "== $N single-host stores (parallelism $PARALLEL; key exchange curve25519-sha256; $(nproc) cores)"
    printf '%-44s %10s %10s %12s %12s %6s\n' "" "wall" "cpu" "peak RSS" "peak PSS" "procs"
    printf '%-44s %10s %10s %12s %12s %6s\n' "" "" "" "(largest)" "(all)" ""
    measure "edgeup plan (nothing installed)" "$EDGEUP" plan "$DIR/fleet.yaml" --concurrency "$PARALLEL"
    measure "peer: xargs -P ssh probe" sh -c "$PEER"
    ansible_peer "peer: ansible -f script probe"
    measure "edgeup apply (install all)" "$EDGEUP" apply "$DIR/fleet.yaml" --concurrency "$PARALLEL" --max-concurrent-stores "$PARALLEL"
    printf '%-44s not measured: no equivalent playbook (README.md)\n' "peer: ansible apply"
    measure "edgeup plan (converged)" "$EDGEUP" plan "$DIR/fleet.yaml" --concurrency "$PARALLEL" --detailed-exitcode
    measure "peer: xargs -P ssh probe (converged)" sh -c "$PEER"
    ansible_peer "peer: ansible -f script probe (converged)"
    "$LAB" down --dir "$DIR" >/dev/null && rm -rf "$DIR"
    trap - EXIT
done
