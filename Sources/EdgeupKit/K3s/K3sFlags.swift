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

    /// Flags whose value is a secret, with the environment variable k3s reads for each (the
    /// flags' `EnvVar`s in k3s's pkg/cli/cmds). edgeup hands them to k3s in the service's 0600
    /// environment file, never in config.yaml, which is fingerprinted, diffed and probed.
    public static let secretEnvironment: [String: String] = [
        "datastore-endpoint": "K3S_DATASTORE_ENDPOINT",
        "etcd-s3-access-key": "AWS_ACCESS_KEY_ID",
        "etcd-s3-secret-key": "AWS_SECRET_ACCESS_KEY",
        "etcd-s3-session-token": "AWS_SESSION_TOKEN",
        "vpn-auth": "K3S_VPN_AUTH",
    ]

    /// k3s's one-letter aliases (`data-dir,d`), which config.yaml accepts as keys too.
    public static let shortAliases: [String: String] = [
        "t": "token", "s": "server", "d": "data-dir", "o": "write-kubeconfig", "i": "node-ip",
    ]

    /// A `datastore-endpoint` that carries a password: `postgres://user:pass@host/db`,
    /// `mysql://user:pass@tcp(host)/db`, or a `password=` parameter. Without one (etcd URLs, a
    /// user authenticated by certificate) it is an ordinary setting.
    public static func holdsPassword(datastoreEndpoint value: String) -> Bool {
        if value.lowercased().contains("password=") { return true }
        guard let scheme = value.range(of: "://") else { return false }
        let authority = value[scheme.upperBound...].prefix { $0 != "?" }
        guard let at = authority.lastIndex(of: "@") else { return false }
        return authority[..<at].contains(":")
    }

    public static func isAgentFlag(_ key: String) -> Bool {
        agentFlags.contains(key.hasSuffix("+") ? String(key.dropLast()) : key)
    }
}
