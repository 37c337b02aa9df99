/// What k3s's flags mean for edgeup: which must match across servers, and which an agent accepts.
public enum K3sFlags {
    /// Servers of one cluster must agree on these, or a join fails with "critical configuration
    /// value mismatch" (k3s docs, "Critical Configuration Values").
    public static let mustMatchAcrossServers: Set<String> = [
        "agent-token", "cluster-cidr", "cluster-dns", "cluster-domain", "disable", "disable-cloud-controller",
        "disable-helm-controller", "disable-network-policy", "egress-selector-mode", "flannel-backend",
        "flannel-external-ip", "flannel-ipv6-masq", "secrets-encryption", "service-cidr",
    ]

    /// Flags `k3s agent` takes (servers run an agent too, so servers take them all). The store's
    /// `config:` goes whole to servers and filtered by this list to agents, so one `config:` can
    /// carry both `disable: [traefik]` and `kubelet-arg: [...]`.
    public static let agentFlags: Set<String> = [
        "v", "vmodule", "log", "alsologtostderr", "debug", "data-dir", "node-ip", "node-external-ip",
        "node-internal-dns", "node-external-dns", "resolv-conf", "flannel-iface", "flannel-conf",
        "flannel-cni-conf", "with-node-id", "node-label", "node-taint", "image-credential-provider-bin-dir",
        "image-credential-provider-config", "selinux", "lb-server-port", "protect-kernel-defaults",
        "container-runtime-endpoint", "default-runtime", "image-service-endpoint", "disable-default-registry-endpoint",
        "nonroot-devices", "pause-image", "snapshotter", "private-registry", "system-default-registry",
        "airgap-extra-registry", "kubelet-arg", "kube-proxy-arg", "rootless", "prefer-bundled-bin",
        "vpn-auth", "vpn-auth-file", "disable-apiserver-lb", "bind-address",
    ]

    public static func isAgentFlag(_ key: String) -> Bool {
        agentFlags.contains(key.hasSuffix("+") ? String(key.dropLast()) : key)
    }
}
