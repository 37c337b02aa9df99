/// What edgeup must know about a Kubernetes distribution to install and run it on a host: its
/// files, its facts probe, its installer, its tokens and how to reach its API on a server. Plan,
/// Actions and Execution ask a `Distribution`; only an implementation (`K3sDistribution`) knows
/// the distribution itself. See docs/ARCHITECTURE.md, "How to add a distribution".
public protocol Distribution: Sendable {
    /// As plans and errors name it: "k3s".
    var name: String { get }
    var files: DistributionFiles { get }

    func serviceName(for role: Role) -> String

    /// What edgeup wants on `host`, once the install mode and the host's init system are known.
    func desiredState(_ host: Host, in store: Store, mode: InstallMode, initSystem: InitSystem) -> HostDesiredState

    /// Where joining nodes reach the store's cluster (k3s: the API port; RKE2 has its own).
    func joinURL(for store: Store) -> String?

    /// Ports that must be free on a host before the distribution's first start there.
    func requiredPorts(for role: Role, datastore: Datastore) -> [Int]

    /// The read-only root script that gathers a host's facts in one round trip, and its parser.
    func probeScript(for role: Role) -> String
    func parseFacts(_ output: String) -> HostFacts

    /// Runs the official installer (online mode): a fixed script and its positional parameters,
    /// so no value becomes shell text.
    func installer(for host: Host, in store: Store, version: String?, channel: String?, scriptURL: String) -> HostScript
    /// Run after an uploaded binary is in place (air gap), e.g. the tool links it serves.
    var afterBinaryUpload: HostScript? { get }

    /// argv running kubectl as root on a server against its own cluster.
    func kubectl(_ arguments: [String]) -> [String]

    /// argv saving an embedded-etcd snapshot named `name` on a running server.
    func etcdSnapshot(name: String) -> [String]
    /// argv renewing a stopped node's certificates now.
    func rotateCertificates() -> [String]

    /// Whether a server's token may be handed to joiners (it must let them verify the CA).
    func isSecureServerToken(_ token: String) -> Bool
    /// The token an agent joins with, made from the server token and the agent secret.
    func agentJoinToken(serverToken: String, agentSecret: String) -> String
}

/// A fixed root script and the values it reads as "$1", "$2", …
public struct HostScript: Sendable {
    public var script: StaticString
    public var arguments: [String]

    public init(_ script: StaticString, _ arguments: [String] = []) {
        self.script = script
        self.arguments = arguments
    }
}

/// Where a distribution keeps what edgeup reads and writes on a host.
public struct DistributionFiles: Sendable, Hashable {
    public var binary: String
    /// Where an upgrade's binary waits until the node restarts, and where the replaced one stays.
    public var stagedBinary: String
    public var previousBinary: String
    /// Where snapshots go on a server, and the SQLite datastore's files (copied while stopped).
    public var snapshots: String
    public var sqliteDatastore: [String]
    /// edgeup's pre-upgrade snapshots start with this.
    public var snapshotPrefix: String
    public var configDirectory: String
    public var config: String
    /// Private registries, read only at start.
    public var registries: String
    /// The token a joiner joins with (config.yaml names it, so config.yaml holds no secret).
    public var joinToken: String
    /// The agent token's secret, on servers.
    public var agentToken: String
    /// The cluster's server token, on servers.
    public var serverToken: String
    /// Marks a host that owes a restart (see `HostOperator.markPendingRestart`).
    public var pendingRestart: String
    /// Marks a node edgeup cordoned (see `DrainAction`).
    public var cordonedMarker: String
    /// The admin kubeconfig a server writes.
    public var kubeconfig: String
    public var airgapImages: String
    /// Manifests the server applies by itself (playbooks' `autoDeploy`).
    public var autoDeployManifests: String
    public var killallScript: String
    public var uninstallScripts: [Role: String]
    /// Which playbook manifests were applied, kept inside the cluster's data (wiped with it).
    public var clusterPlaybookRecord: String

    public func uninstallScript(for role: Role) -> String {
        uninstallScripts[role] ?? ""
    }
}

/// Which distribution runs a store. One today; a second one is chosen here (from a store setting).
public enum Distributions {
    public static func distribution(for store: Store) -> any Distribution {
        K3sDistribution()
    }
}
