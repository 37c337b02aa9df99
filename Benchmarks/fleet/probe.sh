# The peer's probe: the same reads edgeup's facts probe makes (machine, os, hostname, machine-id,
# init system, clock, k3s version and hashes, config, service state, listening ports, route).
uname -m; . /etc/os-release; echo "$ID $VERSION_ID"; cat /proc/sys/kernel/hostname; cat /etc/machine-id
[ -d /run/systemd/system ] && echo systemd; date +%s
if [ -x /usr/local/bin/k3s ]; then /usr/local/bin/k3s --version | head -n 1; sha256sum /usr/local/bin/k3s; fi
[ -f /etc/rancher/k3s/config.yaml ] && sha256sum /etc/rancher/k3s/config.yaml && base64 < /etc/rancher/k3s/config.yaml | tr -d '\n'
[ -f /var/lib/rancher/k3s/server/token ] && tr -d '\n' < /var/lib/rancher/k3s/server/token | sha256sum | cut -c1-16
[ -f /etc/systemd/system/k3s.service ] && cat /etc/systemd/system/k3s.service /etc/systemd/system/k3s.service.env | sha256sum && systemctl is-active k3s
awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6
awk 'NR > 1 && $2 == "00000000" { print "default" }' /proc/net/route
if [ -x /usr/local/bin/k3s ] && [ -f /etc/rancher/k3s/k3s.yaml ]; then /usr/local/bin/k3s kubectl get --raw /readyz --request-timeout=5s; /usr/local/bin/k3s kubectl get nodes -o json --request-timeout=5s | base64 | tr -d "\n"; fi
exit 0
