/// The service definition edgeup writes for k3s itself (air gap and local-binary installs), so
/// nothing is downloaded on the host. Configuration lives in config.yaml, not in ExecStart;
/// secrets from `k3s.config` (`!env`) live in the environment file (0600), as the variables k3s
/// reads for their flags.
public struct ServiceFiles: Sendable, Hashable {
    public var unitPath: String
    public var unit: String
    public var environmentPath: String
    public var environment: String

    public init(role: Role, initSystem: InitSystem, secrets: [K3sSecretSetting] = []) {
        let command = role == .server ? "server" : "agent"
        let name = K3sPaths.serviceName(for: role)
        environment = "# Environment for \(name), written by edgeup. Settings belong in \(K3sPaths.config).\n"
        // An agent gets only what `k3s agent` takes (a datastore password stays on the servers).
        for secret in secrets where role == .server || K3sFlags.isAgentFlag(secret.flag) {
            environment += "\(secret.k3sVariable)=\(Self.quoted(secret.value.value))\n"
        }
        switch initSystem {
        case .systemd:
            unitPath = K3sPaths.systemdUnit(for: role)
            environmentPath = K3sPaths.systemdEnvironment(for: role)
            unit = """
                # Written by edgeup: k3s \(command). Settings are in \(K3sPaths.config).
                [Unit]
                Description=Lightweight Kubernetes (k3s \(command))
                Documentation=https://docs.k3s.io
                Wants=network-online.target
                After=network-online.target

                [Service]
                Type=notify
                EnvironmentFile=-\(environmentPath)
                KillMode=process
                Delegate=yes
                LimitNOFILE=1048576
                LimitNPROC=infinity
                LimitCORE=infinity
                TasksMax=infinity
                TimeoutStartSec=0
                Restart=always
                RestartSec=5s
                ExecStartPre=-/sbin/modprobe br_netfilter
                ExecStartPre=-/sbin/modprobe overlay
                ExecStart=\(K3sPaths.binary) \(command)

                [Install]
                WantedBy=multi-user.target

                """
        case .openrc:
            unitPath = K3sPaths.openRCScript(for: role)
            environmentPath = K3sPaths.openRCEnvironment(for: role)
            unit = """
                #!/sbin/openrc-run
                # Written by edgeup: k3s \(command). Settings are in \(K3sPaths.config).
                description="Lightweight Kubernetes (k3s \(command))"
                supervisor=supervise-daemon
                command="\(K3sPaths.binary)"
                command_args="\(command)"
                output_log="/var/log/\(name).log"
                error_log="/var/log/\(name).log"
                pidfile="/var/run/\(name).pid"
                respawn_delay=5
                respawn_max=0

                depend() {
                    after network-online
                    want cgroups
                }

                start_pre() {
                    set -o allexport
                    [ -f \(environmentPath) ] && . \(environmentPath)
                    set +o allexport
                }

                """
        }
    }

    /// `"…"` with `\`, `"`, `$` and `` ` `` escaped: read the same by systemd's EnvironmentFile
    /// (which unescapes exactly these in double quotes and expands nothing) and by the shell that
    /// sources OpenRC's env file. Values never hold line breaks (the inventory refuses them).
    static func quoted(_ value: String) -> String {
        var result = "\""
        for character in value {
            if "\\\"$`".contains(character) { result.append("\\") }
            result.append(character)
        }
        return result + "\""
    }
}
