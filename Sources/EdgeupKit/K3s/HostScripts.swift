/// The killall and uninstall scripts k3s users expect on a host, written by edgeup for installs
/// that do not run the official installer (which would write its own).
public enum HostScripts {
    public static let killall = """
        #!/bin/sh
        # Written by edgeup: stops k3s and everything it started on this host.
        [ "$(id -u)" -eq 0 ] || exec sudo "$0" "$@"
        for name in k3s k3s-agent; do
            if [ -f /etc/systemd/system/$name.service ]; then systemctl stop $name 2>/dev/null; fi
            if [ -x /etc/init.d/$name ]; then /etc/init.d/$name stop 2>/dev/null; fi
        done
        # Containers outlive the service (KillMode=process) until killed here.
        pkill -f 'containerd-shim-runc' 2>/dev/null
        pkill -x k3s 2>/dev/null
        pkill -f '^/usr/local/bin/k3s ' 2>/dev/null
        for mount in $(awk '{print $2}' /proc/self/mounts | grep -E '^/(run/k3s|var/lib/kubelet/pods|var/lib/rancher/k3s|run/netns/cni-)' | sort -r); do
            umount "$mount" 2>/dev/null
        done
        for link in cni0 flannel.1 flannel-v6.1 flannel-wg flannel-wg-v6; do
            ip link delete "$link" 2>/dev/null
        done
        rm -rf /var/lib/cni/
        exit 0

        """

    public static func uninstall(role: Role) -> String {
        let name = K3sPaths.serviceName(for: role)
        return """
            #!/bin/sh
            # Written by edgeup: removes k3s (\(name)) and its data from this host.
            [ "$(id -u)" -eq 0 ] || exec sudo "$0" "$@"
            \(K3sPaths.killallScript)
            if command -v systemctl >/dev/null 2>&1 && [ -f \(K3sPaths.systemdUnit(for: role)) ]; then
                systemctl disable \(name) 2>/dev/null
                rm -f \(K3sPaths.systemdUnit(for: role)) \(K3sPaths.systemdEnvironment(for: role))
                systemctl daemon-reload 2>/dev/null
            fi
            if [ -f \(K3sPaths.openRCScript(for: role)) ]; then
                rc-update delete \(name) default 2>/dev/null
                rm -f \(K3sPaths.openRCScript(for: role)) \(K3sPaths.openRCEnvironment(for: role))
            fi
            for link in \(K3sPaths.links.joined(separator: " ")); do
                [ -L "$link" ] && rm -f "$link"
            done
            rm -f \(K3sPaths.binary)
            rm -rf /etc/rancher/k3s /run/k3s /var/lib/rancher/k3s /var/lib/kubelet
            rm -f \(K3sPaths.killallScript) "$0"
            exit 0

            """
    }
}
