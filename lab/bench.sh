#!/bin/bash
# Benchmark of the edgeup lab: create N single-host stores, check every host over SSH, tear down.
#   lab/bench.sh [N ...]          (default: 100; e.g. `lab/bench.sh 100 1000`)
# env: BENCH_SUBNET (default 10.240.0.0/16), BENCH_DIR (default: a fresh dir under /tmp),
#      BENCH_SSH_PARALLEL (default 20), BENCH_KEX (default: OpenSSH's own default, see below),
#      BENCH_SSH=0 skips the SSH check
# Prints per size: create time, memory (MemAvailable drop and the sum of the hosts' PSS),
# SSH check (connections, failures, wall time) and teardown time.
# SSH key exchange: the client's default on Debian 12 (OpenSSH 9.2) is
# sntrup761x25519-sha512@openssh.com, ~8x the client CPU of curve25519-sha256; set
# BENCH_KEX=curve25519-sha256 to measure with the cheaper one. The result line says which was used.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "bench.sh: run as root" >&2; exit 2; }
LAB="$(cd "$(dirname "$0")" && pwd)"
TOOL="$LAB/edgeup-lab"
SIZES=("${@:-100}")
SUBNET="${BENCH_SUBNET:-10.240.0.0/16}"
PAR="${BENCH_SSH_PARALLEL:-20}"
KEX="${BENCH_KEX:-}"

mem_avail_kb() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }
now() { date +%s.%N; }

pss_of_lab_kb() {   # sum of PSS of every process living in one of the lab's network namespaces
    /usr/bin/python3 - "$1" <<'EOF'
import json, os, sys
lab = json.load(open(os.path.join(sys.argv[1], "lab.json")))
inodes = set()
for h in lab["hosts"]:
    try:
        inodes.add(os.stat(f"/run/netns/{h['netns']}").st_ino)
    except OSError:
        pass
total = n = 0
for e in os.listdir("/proc"):
    if not e.isdigit():
        continue
    try:
        if os.stat(f"/proc/{e}/ns/net").st_ino not in inodes:
            continue
        for line in open(f"/proc/{e}/smaps_rollup"):
            if line.startswith("Pss:"):
                total += int(line.split()[1]); n += 1
    except OSError:
        pass
print(total, n)
EOF
}

for N in "${SIZES[@]}"; do
    DIR="${BENCH_DIR:-$(mktemp -d /tmp/edgeup-bench.XXXXXX)}"
    trap '"$TOOL" down --dir "$DIR" >/dev/null 2>&1 || true' EXIT
    sync; echo 1 > /proc/sys/vm/drop_caches 2>/dev/null || true
    m0=$(mem_avail_kb)
    t0=$(now)
    "$TOOL" up --dir "$DIR" --stores "$N" --subnet "$SUBNET" >/dev/null
    t1=$(now)
    sleep 1
    m1=$(mem_avail_kb)
    read -r pss nproc < <(pss_of_lab_kb "$DIR")
    # every host once over SSH (strict host keys, the lab's key), bounded parallelism
    opts=(-F "$DIR/ssh_config" -o ConnectTimeout=20)
    [ -n "$KEX" ] && opts+=(-o "KexAlgorithms=$KEX")
    kexname="${KEX:-openssh-default(sntrup761x25519-sha512)}"
    hosts=$(/usr/bin/python3 -c 'import json,sys; print("\n".join(h["name"] for h in json.load(open(sys.argv[1]))["hosts"]))' "$DIR/hosts.json")
    t2=$(now)
    if [ "${BENCH_SSH:-1}" = 0 ]; then
        fails=0; nconn=0
    else
        nconn=$N
        fails=$(printf '%s\n' $hosts | xargs -P "$PAR" -I{} sh -c 'ssh "$@" {} true >/dev/null 2>&1 || echo FAIL' _ "${opts[@]}" | grep -c FAIL || true)
    fi
    t3=$(now)
    "$TOOL" down --dir "$DIR" >/dev/null
    t4=$(now)
    trap - EXIT
    rmdir "$DIR" 2>/dev/null || true
    /usr/bin/python3 - "$N" "$t0" "$t1" "$t2" "$t3" "$t4" "$m0" "$m1" "$pss" "$nproc" "$fails" "$PAR" "$kexname" "$nconn" <<'EOF'
import sys
n, t0, t1, t2, t3, t4 = int(sys.argv[1]), *map(float, sys.argv[2:7])
m0, m1, pss, nproc, fails, par = map(int, sys.argv[7:13])
kex, nconn = sys.argv[13], int(sys.argv[14])
print(f"hosts={n} create={t1 - t0:.1f}s memory(MemAvailable drop)={(m0 - m1) / 1024:.0f}MB "
      f"memory(sum PSS of {nproc} host processes)={pss / 1024:.0f}MB per-host-PSS={pss / 1024 / n:.2f}MB "
      f"ssh-check={nconn} conns/{fails} failures in {t3 - t2:.1f}s (parallel {par}, kex {kex}) teardown={t4 - t3:.1f}s")
EOF
done
