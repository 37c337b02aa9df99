import Foundation

/// A plan together with everything apply needs to carry it out, so apply executes exactly what
/// was planned and never plans again. `plan` is the part that is shown and saved (`--out`); the
/// rest (desired files, which may hold secrets, and rendered playbooks) stays in memory.
public struct ExecutablePlan: Sendable {
    public var inventoryFiles: [String]
    public var inventoryFingerprint: String
    public var createdAt: Date
    public var stores: [StoreWork]

    public init(inventoryFiles: [String], inventoryFingerprint: String, stores: [StoreWork], createdAt: Date = Date()) {
        self.inventoryFiles = inventoryFiles
        self.inventoryFingerprint = inventoryFingerprint
        self.stores = stores
        self.createdAt = createdAt
    }

    /// The plan as `plan` prints it and `--out` saves it.
    public var plan: Plan {
        Plan(
            inventoryFiles: inventoryFiles, inventoryFingerprint: inventoryFingerprint, stores: stores.map(\.plan),
            createdAt: createdAt)
    }
}

/// One store's share of an executable plan.
public struct StoreWork: Sendable {
    public var store: Store
    public var plan: StorePlan
    /// Per host: what edgeup writes there. Hosts without facts (unreachable) are missing; a
    /// plan with such a host has a problem, and apply refuses the store before touching it.
    public var hosts: [HostID: HostWork]
    /// The store's rendered playbooks; `apply-playbook` actions name units of these.
    public var playbooks: StorePlaybooks
    /// The store's upgrade, when a host needs one: its target and snapshot.
    var upgrade: StoreUpgrade?
    /// Hosts marked `remove: true` that the plan takes out (`remove-node` actions).
    public var removals: [HostID: HostRemoval] = [:]
    /// Which of the store's hosts already have which artifacts during the run.
    let relay = LANRelay()

    public init(store: Store, plan: StorePlan, hosts: [HostID: HostWork], playbooks: StorePlaybooks) {
        self.store = store
        self.plan = plan
        self.hosts = hosts
        self.playbooks = playbooks
    }

    /// The host's own steps, in execution order (staging, done for all hosts first, is not among them).
    public func actions(on host: Host) -> [PlannedAction] {
        plan.actions.filter { $0.host == host.id && $0.kind.phase == .host }
    }

    public func actions(_ kind: ActionKind) -> [PlannedAction] {
        plan.actions.filter { $0.kind == kind }
    }
}

/// What edgeup wants on one host and the node it registers as, fixed when the plan was made.
public struct HostWork: Sendable {
    /// The distribution that runs the host's store.
    public var distribution: any Distribution
    public var desired: HostDesiredState
    /// The Kubernetes node name (the inventory's `name`, else the hostname the host reported).
    public var nodeName: String
    /// `--drain`: how the host is drained if its plan has a drain step.
    public var drain: DrainPolicy?

    public init(distribution: any Distribution, desired: HostDesiredState, nodeName: String) {
        self.distribution = distribution
        self.desired = desired
        self.nodeName = nodeName
    }

    public var host: Host { desired.host }
}
