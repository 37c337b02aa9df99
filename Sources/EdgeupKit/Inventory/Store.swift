/// Where a store's cluster keeps its state.
public enum Datastore: String, Sendable, Hashable, Codable, CaseIterable {
    /// k3s's default: exactly one server.
    case sqlite
    /// Embedded etcd: an odd number of servers, `cluster-init` on the first.
    case etcd
}

/// One edge site: one k3s cluster and its hosts, fully resolved.
public struct Store: Sendable, Hashable, Codable {
    public var name: String
    public var labels: [String: String]
    public var datastore: Datastore
    /// Address the operator uses for the API (kubeconfig server, tls-san).
    public var apiEndpoint: String?
    public var via: String?
    public var k3s: K3sSettings
    public var playbooks: [String]
    /// Where the store's playbook list was written (for "unknown playbook" errors).
    public var playbooksLocation: SourceLocation?
    /// Values for playbook templates, defaults' deep-merged with the store's (a `.map`).
    public var values: ConfigValue
    /// Context name for the merged kubeconfig.
    public var context: String
    /// Servers first, in inventory order: the first server is the one that initialises the cluster.
    public var hosts: [Host]
    public var location: SourceLocation?
    /// `protected: true`: `edgeup reset` refuses the store, even with `--yes`. Stored only when set,
    /// so inventories without it keep their fingerprint.
    private var protected: Bool?
    /// Hosts marked `remove: true`: taken out of the cluster, not part of it. Stored only when some
    /// are, like `protected`.
    private var removals: [Host]?

    public var isProtected: Bool {
        get { protected == true }
        set { protected = newValue ? true : nil }
    }

    /// Hosts the inventory marks `remove: true` (servers first): apply drains them, deletes their
    /// Node (and with it their etcd member) and uninstalls k3s where they answer. Never in `hosts`.
    public var removing: [Host] {
        get { removals ?? [] }
        set { removals = newValue.isEmpty ? nil : newValue }
    }

    public init(
        name: String,
        labels: [String: String] = [:],
        datastore: Datastore,
        apiEndpoint: String? = nil,
        via: String? = nil,
        k3s: K3sSettings = K3sSettings(),
        playbooks: [String] = [],
        playbooksLocation: SourceLocation? = nil,
        values: ConfigValue = .map([]),
        context: String? = nil,
        hosts: [Host],
        location: SourceLocation? = nil
    ) {
        self.name = name
        self.labels = labels
        self.datastore = datastore
        self.apiEndpoint = apiEndpoint
        self.via = via
        self.k3s = k3s
        self.playbooks = playbooks
        self.playbooksLocation = playbooksLocation
        self.values = values
        self.context = context ?? name
        self.hosts = hosts
        self.location = location
    }

    public var servers: [Host] { hosts.filter { $0.role == .server } }
    public var agents: [Host] { hosts.filter { $0.role == .agent } }
    public var firstServer: Host? { servers.first }

    /// Days before expiry from which the store's certificates are due for renewal (inventory
    /// `k3s.certificateRenewalDays`, fleet-wide in `defaults` or per store; default 90).
    public var certificateRenewalWindow: Int { k3s.certificateRenewalDays ?? K3sSettings.defaultCertificateRenewalDays }
}
