/// The init system a host runs k3s under.
public enum InitSystem: String, Sendable, Hashable, Codable {
    case systemd
    case openrc
}

/// The service definition edgeup writes for k3s itself (air gap and local-binary installs), so
/// nothing is downloaded on the host. Configuration lives in config.yaml, not in ExecStart.
public struct ServiceFiles: Sendable, Hashable {
    public var unitPath: String
    public var unit: String
    public var environmentPath: String
    public var environment: String

    public init(role: Role, initSystem: InitSystem) {
        let command = role == .server ? "server" : "agent"
        let name = K3sPaths.serviceName(for: role)
        environment = "# Environment for \(name), written by edgeup. Settings belong in \(K3sPaths.config).\n"
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
}
