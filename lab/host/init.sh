#!/bin/sh
# Host init of an edgeup lab host.  Runs as PID 1 of a fresh PID namespace, inside the host's
# network namespace and a private (propagation private) mount + UTS namespace, started by
#   nsenter --net=/run/netns/NS unshare --mount --uts --pid --fork --kill-child --mount-proc \
#           --propagation private /bin/sh init.sh HOSTDIR
# It sets up the host's view of the machine, starts sshd and the enabled units, then execs tini.
set -eu
H="$1"
. "$H/host.env"           # HOST_NAME LAB_DIR SHIM_DIR LEGS NEIGH
exec >>"$H/console.log" 2>&1
echo "lab-init: booting $HOST_NAME"
rm -f "$H/ready"

# --- network: addresses, loopback, permanent neighbours, no forwarding ---
# The default route leads into a dead end, which drops everything: k3s needs a default route even
# when air-gapped ("a black-hole route via a dummy interface will suffice", k3s docs), and nothing
# a host sends off its own networks can leave the lab. The dummy is a veth whose peer stays down
# (the dummy driver is not available in every kernel this runs on).
{
    echo "link set lo up"
    echo "link add airgap0 type veth peer name airgap1"
    echo "link set airgap0 up"
    echo "route add default dev airgap0"
    for leg in $LEGS; do                   # leg = ifname,cidr
        ifn=${leg%%,*}; cidr=${leg#*,}
        echo "addr add $cidr dev $ifn"
        echo "link set $ifn up"
    done
    for n in $NEIGH; do                    # n = ip,mac,ifname
        ip=${n%%,*}; rest=${n#*,}; mac=${rest%%,*}; ifn=${rest#*,}
        echo "neigh replace $ip lladdr $mac dev $ifn nud permanent"
    done
} | ip -force -batch - || true
echo 0 > /proc/sys/net/ipv4/ip_forward

# --- mounts (all private to this host) ---
# detach the inherited /run/netns mounts so this host pins no other namespace
[ -d /run/netns ] && umount -R -l /run/netns 2>/dev/null || true
# a sysfs for this network namespace, keeping the cgroup mount
mkdir -p "$H/mnt/cg" "$H/root" "$H/upper/etc" "$H/upper/usr/local" "$H/upper/var" "$H/upper/home" \
         "$H/work/etc" "$H/work/usr/local" "$H/work/var" "$H/work/home"
mount --rbind /sys/fs/cgroup "$H/mnt/cg" 2>/dev/null || true
mount -t sysfs sysfs /sys 2>/dev/null || true
mount --rbind "$H/mnt/cg" /sys/fs/cgroup 2>/dev/null || true
umount -R -l "$H/mnt/cg" 2>/dev/null || true
# copy-on-write views of the paths an install touches; changes land in this host's upper dirs
for d in etc usr/local var; do
    u="$H/upper/$d"; w="$H/work/$d"
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=$u,workdir=$w" "/$d"
done
# private /root and /home (persistent per host); private /run (fresh per boot)
mount --bind "$H/root" /root
mount --bind "$H/upper/home" /home        # private: the machine's /home (operators' files) is not shown
mount -t tmpfs -o mode=755,size=64m tmpfs /run
mkdir -p /run/systemd/system /run/lock /run/user /run/netns /var/log/lab-journal
mkdir -m 711 /run/sshd
# systemctl / journalctl stand-ins, only in this host's mount namespace
mount --bind "$SHIM_DIR/systemctl" /usr/bin/systemctl
mount --bind "$SHIM_DIR/journalctl" /usr/bin/journalctl
echo "$HOST_NAME" > /proc/sys/kernel/hostname

# --- sshd (daemonises; its listener is a child of PID 1) ---
/usr/sbin/sshd -E /var/log/lab-sshd.log
echo "lab-init: sshd started"
: > "$H/ready"                             # the lab tool waits for this marker
# /tmp last, then hide the lab directory (keys, other hosts' upper dirs) from this host
mount -t tmpfs -o mode=1777,size=256m tmpfs /tmp
case "$LAB_DIR" in
    /tmp|/tmp/*) ;;
    *) mount -t tmpfs -o ro,mode=755,size=4k tmpfs "$LAB_DIR" ;;
esac
# --- units enabled with `systemctl enable` start at boot ---
set -- /etc/systemd/system/multi-user.target.wants/*
if [ -e "$1" ] || [ -L "$1" ]; then
    /usr/bin/systemctl --lab-boot </dev/null || echo "lab-init: boot units: exit $?"
fi
echo "lab-init: up"
exec /usr/bin/tini -s -- /bin/sleep infinity
