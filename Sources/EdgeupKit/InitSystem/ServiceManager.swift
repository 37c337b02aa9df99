/// The init system a host runs k3s under.
public enum InitSystem: String, Sendable, Hashable, Codable {
    case systemd
    case openrc
}

/// The commands that drive a service under one init system: the one place where systemd and
/// OpenRC differ for execution (what a unit file says is `ServiceFiles`' business, how the probe
/// tells them apart `FactsProbe`'s).
struct ServiceManager: Sendable {
    var initSystem: InitSystem

    /// OpenRC runs its service script, systemd only reads its unit.
    var unitFileMode: UInt16 { initSystem == .openrc ? 0o755 : 0o644 }

    /// Makes a newly written definition the one used, and starts it at boot.
    func enable(_ service: String) -> [[String]] {
        switch initSystem {
        case .systemd: [["systemctl", "daemon-reload"], ["systemctl", "enable", service]]
        case .openrc: [["rc-update", "add", service, "default"]]
        }
    }

    /// Run before a start or restart: systemd keeps the unit it loaded last, so a run killed
    /// between writing a unit and reloading it would otherwise start the old definition.
    var reloadDefinitions: [String]? {
        initSystem == .systemd ? ["systemctl", "daemon-reload"] : nil
    }

    /// `verb` is start, stop or restart.
    func control(_ verb: String, _ service: String) -> [String] {
        initSystem == .systemd ? ["systemctl", verb, service] : ["rc-service", service, verb]
    }

    /// Exits 0 when the service runs.
    func isActive(_ service: String) -> [String] {
        initSystem == .systemd ? ["systemctl", "is-active", service] : ["rc-service", service, "status"]
    }

    /// Prints the service's last log lines.
    func logTail(_ service: String, lines: Int) -> [String] {
        initSystem == .systemd
            ? ["journalctl", "-u", service, "-n", String(lines), "--no-pager", "-o", "cat"]
            : ["tail", "-n", String(lines), "/var/log/\(service).log"]
    }
}
