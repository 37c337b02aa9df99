/// One rendered piece of a playbook for one store: a manifest (through the cluster), a file or a
/// command (on one host). Its id and SHA-256 are what the plan compares with what was applied.
public struct PlaybookUnit: Sendable, Hashable {
    /// `playbook/step/source`, e.g. `baseline/namespaces/namespaces.yaml`; unique within a store
    /// (per host for files and commands). Path-safe, no spaces.
    public var id: String
    public var playbook: String
    public var step: String
    public var kind: Kind
    /// The host a file or command is for; nil for manifests.
    public var host: String?
    public var content: String
    public var sha256: String
    /// Its template used a value read with `!env` (whatever transform followed): the content is
    /// never logged or shown.
    public var sensitive: Bool

    public enum Kind: Sendable, Hashable {
        case manifest(deploy: ManifestDeployment, wait: Duration?, workloads: [Workload])
        case file(path: String, mode: UInt16)
        case command
    }

    public init(
        id: String, playbook: String, step: String, kind: Kind, host: String?, content: String, sha256: String,
        sensitive: Bool
    ) {
        self.id = id
        self.playbook = playbook
        self.step = step
        self.kind = kind
        self.host = host
        self.content = content
        self.sha256 = sha256
        self.sensitive = sensitive
    }

    /// Where the manifest lives on the first server when it is deployed through k3s's folder.
    public var autoDeployPath: String {
        K3sPaths.autoDeployManifests + "/edgeup-" + id.replacingOccurrences(of: "/", with: "-")
            + (id.hasSuffix(".yaml") || id.hasSuffix(".yml") ? "" : ".yaml")
    }

    /// What the record on the host is keyed by: files by their path, so the probe can hash them.
    public var recordKey: String {
        if case let .file(path, _) = kind { return PlaybookRecord.fileKey(path) }
        return id
    }
}

/// A workload a manifest defines, waited for with `rollout status`.
public struct Workload: Sendable, Hashable, CustomStringConvertible {
    public var kind: String
    public var namespace: String
    public var name: String

    public init(kind: String, namespace: String, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    public var description: String { "\(kind.lowercased())/\(name) -n \(namespace)" }
}

/// A store's rendered playbooks, in apply order.
public struct StorePlaybooks: Sendable, Hashable {
    public var store: String
    public var units: [PlaybookUnit]

    public init(store: String, units: [PlaybookUnit]) {
        self.store = store
        self.units = units
    }

    public func unit(id: String, host: String?) -> PlaybookUnit? {
        units.first { $0.id == id && $0.host == host }
    }
}
