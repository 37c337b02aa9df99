/// What planning needs besides facts: shared by `runPlan`, `runApply` and `runStatus` (live).
public struct PlanningOptions: Sendable {
    public var inventory: Inventory
    /// The selected stores (`StoreSelection.apply(to:)`).
    public var stores: [Store]
    /// The stores' rendered playbooks (`PlaybookRenderer.prepare`).
    public var playbooks: [String: StorePlaybooks]
    /// `--playbooks-only`: leave k3s as it is; plan playbooks on stores whose cluster runs.
    public var playbooksOnly: Bool
    /// `--allow-downgrade`: plan a move to an older k3s release instead of refusing it.
    public var allowDowngrade: Bool
    /// `--drain`: drain agents before an upgrade restarts them.
    public var drain: DrainPolicy?
    /// Where the clusters' kubeconfigs go. A merged file's contexts tell the planner which stores
    /// still need theirs fetched; apply writes them there.
    public var kubeconfig: KubeconfigDestination
    public var connection: ConnectionOptions
    /// Hosts to gather facts from at once.
    public var factsConcurrency: Int

    public init(
        inventory: Inventory, stores: [Store], playbooks: [String: StorePlaybooks] = [:], playbooksOnly: Bool = false,
        allowDowngrade: Bool = false, drain: DrainPolicy? = nil, kubeconfig: KubeconfigDestination, connection: ConnectionOptions,
        factsConcurrency: Int = 100
    ) {
        self.inventory = inventory
        self.stores = stores
        self.playbooks = playbooks
        self.playbooksOnly = playbooksOnly
        self.allowDowngrade = allowDowngrade
        self.drain = drain
        self.kubeconfig = kubeconfig
        self.connection = connection
        self.factsConcurrency = factsConcurrency
    }

    /// Every host of the selected stores: the ones facts are gathered from.
    public var hosts: [StoreHost] { StoreHost.all(in: stores, removing: true) }

    /// A session for the selected hosts.
    public func session() -> FleetSession {
        FleetSession(inventory: inventory, hosts: hosts, connection: connection)
    }
}

extension KubeconfigDestination {
    /// The contexts already in the file kubeconfigs merge into; nil when they do not merge.
    public var mergedContexts: Set<String>? {
        if case let .merge(file, _, _) = self { file.contextNames() } else { nil }
    }
}
