/// Where k3s keeps things on a host. Only the K3s module knows these paths.
public enum K3sPaths {
    public static let binary = "/usr/local/bin/k3s"
    /// An upgrade's binary waits here (same folder: the swap is a rename) until the node restarts.
    public static let stagedBinary = "/usr/local/bin/k3s.edgeup-staged"
    /// The binary an upgrade replaced, kept for the documented rollback.
    public static let previousBinary = "/usr/local/bin/k3s.edgeup-previous"
    /// Tools k3s serves from its one binary when called by these names.
    public static let links = ["kubectl", "crictl", "ctr"].map { "/usr/local/bin/\($0)" }
    public static let configDirectory = "/etc/rancher/k3s"
    public static let config = "/etc/rancher/k3s/config.yaml"
    /// Private registries (mirrors, credentials): read only at start, on every node.
    public static let registries = "/etc/rancher/k3s/registries.yaml"
    public static let configDropIns = "/etc/rancher/k3s/config.yaml.d"
    /// The join token edgeup hands to joiners; referenced from config.yaml by `token-file`, so
    /// config.yaml itself never holds a secret and can be compared and shown safely.
    public static let joinTokenFile = "/etc/rancher/k3s/edgeup-join-token"
    /// The agent token's secret, on servers only (config.yaml names it with `agent-token-file`):
    /// agents join with it in its secure form, so no agent holds the server token, which k3s's
    /// docs call full cluster admin.
    public static let agentTokenFile = "/etc/rancher/k3s/edgeup-agent-token"
    /// Written before edgeup changes what k3s reads at start, removed once the node is Ready again:
    /// a run killed in between leaves it, and the next plan restarts the node.
    public static let pendingRestartFile = "/etc/rancher/k3s/edgeup-restart-pending"
    /// Written before edgeup cordons the node for an upgrade, removed once it uncordoned it.
    public static let cordonedMarker = "/etc/rancher/k3s/edgeup-cordoned"
    public static let kubeconfig = "/etc/rancher/k3s/k3s.yaml"
    public static let dataDirectory = "/var/lib/rancher/k3s"
    public static let serverToken = "/var/lib/rancher/k3s/server/token"
    /// Where `k3s etcd-snapshot save` writes, and where edgeup keeps its SQLite copies too.
    public static let snapshots = "/var/lib/rancher/k3s/server/db/snapshots"
    /// The SQLite datastore and its write-ahead log files.
    public static let sqliteDatastore = ["state.db", "state.db-wal", "state.db-shm"].map { "/var/lib/rancher/k3s/server/db/\($0)" }
    /// edgeup names its pre-upgrade snapshots with this prefix.
    public static let snapshotPrefix = "edgeup-pre-"
    public static let autoDeployManifests = "/var/lib/rancher/k3s/server/manifests"
    public static let airgapImages = "/var/lib/rancher/k3s/agent/images"
    public static let killallScript = "/usr/local/bin/k3s-killall.sh"
    /// edgeup's record of applied playbook manifests, inside k3s's data: a cluster wiped by
    /// k3s-uninstall.sh forgets them and gets them applied again.
    public static let playbookRecord = "/var/lib/rancher/k3s/server/edgeup-playbooks"

    /// k3s's certificates whose expiry the facts carry, by role: servers have the server's and the
    /// agent's, agents the agent's. File names are unique across both folders (they key the facts).
    public static func certificates(for role: Role) -> [K3sCertificateFile] {
        let agent = ["client-kubelet.crt", "serving-kubelet.crt"].map {
            K3sCertificateFile(path: dataDirectory + "/agent/" + $0, isAuthority: false)
        }
        guard role == .server else { return agent }
        let server = [("server-ca.crt", true), ("client-ca.crt", true), ("serving-kube-apiserver.crt", false),
                      ("client-admin.crt", false)].map {
            K3sCertificateFile(path: dataDirectory + "/server/tls/" + $0.0, isAuthority: $0.1)
        }
        return server + agent
    }

    /// Files and folders edgeup writes itself (configuration, tokens, binary, service, scripts, the
    /// kubeconfig, k3s's server state): a playbook's `files` may not replace them or write inside.
    public static var ownedByEdgeup: [String] {
        let perRole = Role.allCases.flatMap { role in
            [uninstallScript(for: role), systemdUnit(for: role), systemdEnvironment(for: role),
             openRCScript(for: role), openRCEnvironment(for: role)]
        }
        return [config, configDropIns, joinTokenFile, kubeconfig, binary, killallScript, dataDirectory + "/server"]
            + links + perRole
    }

    /// edgeup's own files in the config folder (join and agent tokens) start with this.
    public static let ownedPrefix = configDirectory + "/edgeup-"

    public static func uninstallScript(for role: Role) -> String {
        role == .server ? "/usr/local/bin/k3s-uninstall.sh" : "/usr/local/bin/k3s-agent-uninstall.sh"
    }

    /// k3s's service names: `k3s` for servers, `k3s-agent` for agents (as the official installer names them).
    public static func serviceName(for role: Role) -> String {
        role == .server ? "k3s" : "k3s-agent"
    }

    public static func systemdUnit(for role: Role) -> String {
        "/etc/systemd/system/\(serviceName(for: role)).service"
    }

    public static func systemdEnvironment(for role: Role) -> String {
        "/etc/systemd/system/\(serviceName(for: role)).service.env"
    }

    public static func openRCScript(for role: Role) -> String {
        "/etc/init.d/\(serviceName(for: role))"
    }

    public static func openRCEnvironment(for role: Role) -> String {
        "/etc/rancher/k3s/\(serviceName(for: role)).env"
    }
}

/// A certificate file k3s keeps (PEM; the first certificate is the file's own, a chain may follow).
public struct K3sCertificateFile: Sendable, Hashable {
    public var path: String
    /// A CA (ten years, `k3s certificate rotate-ca`) rather than a leaf (a year, renewed by k3s).
    public var isAuthority: Bool

    /// The name facts and plans use: the file name.
    public var name: String { String(path.split(separator: "/").last ?? "") }
}
