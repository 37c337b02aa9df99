import EdgeCore
import Foundation

/// Desired state × facts → plan. Pure: no I/O, no clock; the same inputs give the same plan, so
/// what `plan` prints is what `apply` does, and every rule is unit-testable.
public struct Planner: Sendable {
    /// Clock difference between a host and its store's first server beyond which joins are refused
    /// (certificates issued by one are "not yet valid" on the other).
    public var maxClockSkewSeconds: Double = 30
    public var artifacts: LocalArtifacts
    /// Contexts already in the operator's kubeconfig; nil when unknown (then only changed stores fetch).
    public var kubeconfigContexts: Set<String>?
    /// Each store's rendered playbooks; a store missing here gets no playbook actions.
    public var playbooks: [String: StorePlaybooks]
    /// `--playbooks-only`: leave k3s as it is; plan playbooks on stores whose cluster runs.
    public var playbooksOnly: Bool
    /// `--allow-downgrade`: plan a move to an older release instead of refusing it.
    public var allowDowngrade: Bool
    /// `--drain`: drain agents before an upgrade restarts them.
    public var drain: DrainPolicy?

    public init(
        artifacts: LocalArtifacts, kubeconfigContexts: Set<String>? = nil, playbooks: [String: StorePlaybooks] = [:],
        playbooksOnly: Bool = false, allowDowngrade: Bool = false, drain: DrainPolicy? = nil
    ) {
        self.drain = drain
        self.artifacts = artifacts
        self.kubeconfigContexts = kubeconfigContexts
        self.playbooks = playbooks
        self.playbooksOnly = playbooksOnly
        self.allowDowngrade = allowDowngrade
    }

    public func plan(_ inventory: Inventory, stores: [Store], observations: FleetObservations) -> ExecutablePlan {
        ExecutablePlan(
            inventoryFiles: inventory.files, inventoryFingerprint: Self.fingerprint(of: inventory),
            stores: stores.map { work($0, observations: observations[$0.id] ?? [:]) })
    }

    /// One store's plan.
    public func plan(_ store: Store, observations: [HostID: HostObservation]) -> StorePlan {
        work(store, observations: observations).plan
    }

    /// One store's plan with what apply needs to execute it.
    public func work(_ store: Store, observations: [HostID: HostObservation]) -> StoreWork {
        var problems: [PlanProblem] = []
        var actions: [PlannedAction] = []
        var hosts: [HostID: HostWork] = [:]
        let distribution = Distributions.distribution(for: store)
        let first = store.firstServer.flatMap { observations[$0.id]?.facts }
        problems += duplicateIdentities(store, observations)
        problems += Self.secondClusterProblem(store, observations).map { [$0] } ?? []
        var contexts: [HostPlanContext] = []
        for host in store.hosts {
            guard let observation = observations[host.id] else {
                problems.append(PlanProblem(host: host.id, message: "no facts were gathered", kind: .noFacts))
                continue
            }
            guard case let .observed(facts) = observation else {
                if case let .unreachable(reason) = observation {
                    problems.append(PlanProblem(host: host.id, message: "unreachable: \(reason)", kind: .unreachable))
                }
                continue
            }
            if let problem = Self.nodeNameProblem(host, facts) {
                problems.append(problem)
                continue
            }
            switch desiredState(host, store, facts) {
            case let .failure(problem):
                problems.append(problem)
            case let .success(desired):
                var hostWork = HostWork(distribution: distribution, desired: desired, nodeName: host.nodeName(facts))
                hostWork.drain = drain
                hosts[host.id] = hostWork
                guard !playbooksOnly else { continue }
                let context = HostPlanContext(
                    distribution: distribution, host: host, store: store, facts: facts,
                    desired: desired, first: first, allowDowngrade: allowDowngrade, drain: drain)
                let hostProblems = preflight(host, store, facts, desired, first: first) + HostActions.refusals(context)
                problems += hostProblems
                if hostProblems.isEmpty { contexts.append(context) }
            }
        }
        let upgrade = storeUpgrade(store, contexts, first: first)
        for var context in contexts {
            context.upgrade = upgrade
            actions += HostActions.plan(context)
        }
        let removals = playbooksOnly ? StoreRemovals() : StoreRemovals(store, observations: observations, first: first)
        problems += removals.problems
        actions += removals.actions
        // Listed in the order apply runs them: every host's staging before any host's own steps.
        actions = actions.filter { $0.kind.phase == .stage } + actions.filter { $0.kind.phase != .stage }
        if problems.isEmpty, upgrade != nil {
            problems += unhealthyForUpgrade(store, nodes: first?.k3s.nodes ?? [], hosts: hosts, observations: observations)
        }
        if playbooksOnly, let server = store.firstServer, let first, !(first.k3s.serviceActive && first.k3s.apiReady) {
            problems.append(PlanProblem(
                host: server.id, message: "the cluster is not running, so --playbooks-only has nothing to apply to",
                hint: "run edgeup apply without --playbooks-only to form it"))
        }
        let known = kubeconfigContexts.map { $0.contains(store.context) }
        let clusterExists = first?.k3s.installed == true
        if !playbooksOnly, !actions.isEmpty || (known == false && clusterExists) {
            let reason = actions.isEmpty ? "context \(store.context) is not in your kubeconfig" : "after changes"
            actions.append(PlannedAction(.fetchKubeconfig, host: store.firstServer?.id, reason: reason))
        }
        if let rendered = playbooks[store.name] {
            let playbookActions = playbookActions(rendered, store, observations)
            let fetch = actions.firstIndex { $0.kind == .fetchKubeconfig } ?? actions.endIndex
            actions.insert(contentsOf: playbookActions, at: fetch)
        }
        let plan = StorePlan(
            store: store.id, actions: actions, problems: problems,
            factsFingerprint: Self.fingerprint(of: observations),
            certificates: StoreCertificates(store, observations: observations),
            unmanagedNodes: Self.unmanagedNodes(
                first?.k3s.nodes, store: store, hosts: hosts, removing: removals.removals.values.compactMap(\.nodeName)))
        var work = StoreWork(
            store: store, plan: plan, hosts: hosts,
            playbooks: playbooks[store.name] ?? StorePlaybooks(store: store.name, units: []))
        work.upgrade = upgrade
        work.removals = removals.removals
        return work
    }

    // MARK: desired state and preflight

    /// What edgeup wants on `host`; the plan carries it to execution (`HostWork`).
    func desiredState(_ host: Host, _ store: Store, _ facts: HostFacts) -> Result<HostDesiredState, PlanProblem> {
        guard let architecture = facts.architecture else {
            return .failure(PlanProblem(
                host: host.id, message: "unsupported machine '\(facts.machine)'",
                hint: "k3s runs on amd64, arm64 and armv7"))
        }
        let mode: InstallMode
        if let binary = store.k3s.binary {
            guard let path = binary.path(for: architecture) else {
                return .failure(PlanProblem(
                    host: host.id, message: "no k3s binary for \(architecture.rawValue) in k3s.binary",
                    hint: "add \(architecture.rawValue): PATH to the store's k3s.binary"))
            }
            guard let artifact = artifacts.byPath[path] else {
                return .failure(PlanProblem(
                    host: host.id, message: artifacts.unreadable[path] ?? "k3s binary \(path) was not inspected"))
            }
            if artifact.architecture != architecture {
                return .failure(PlanProblem(
                    host: host.id,
                    message: "\(path) is built for \(artifact.architecture?.rawValue ?? "an unknown CPU") but the host is \(architecture.rawValue) (\(facts.machine))",
                    hint: "point k3s.binary at the \(architecture.rawValue) build, or use a per-architecture map"))
            }
            var images: [LocalArtifact] = []
            for imagesPath in store.k3s.airgapImages.compactMap({ $0.path(for: architecture) }) {
                guard let artifact = artifacts.byPath[imagesPath] else {
                    return .failure(PlanProblem(
                        host: host.id, message: artifacts.unreadable[imagesPath] ?? "\(imagesPath) was not inspected"))
                }
                images.append(artifact)
            }
            mode = .upload(binary: artifact, images: images)
        } else {
            mode = .installer(
                version: store.k3s.version, channel: store.k3s.channel,
                scriptURL: store.k3s.installScriptURL ?? HostDesiredState.defaultInstallScriptURL)
        }
        guard let initSystem = facts.initSystem else {
            return .failure(PlanProblem(
                host: host.id, message: "neither systemd nor OpenRC runs on this host",
                hint: "k3s needs a service manager to keep it running"))
        }
        return .success(Distributions.distribution(for: store).desiredState(host, in: store, mode: mode, initSystem: initSystem))
    }

    private func preflight(
        _ host: Host, _ store: Store, _ facts: HostFacts, _ desired: HostDesiredState, first: HostFacts?
    ) -> [PlanProblem] {
        var problems: [PlanProblem] = []
        // A host edgeup left mid-restart may still be stopping k3s: its ports are k3s's own.
        if !facts.k3s.serviceActive, facts.k3s.pendingRestart == nil {
            let needed = Distributions.distribution(for: store).requiredPorts(for: host.role, datastore: store.datastore)
            let taken = facts.listeningPorts.filter(needed.contains)
            if !taken.isEmpty {
                problems.append(PlanProblem(
                    host: host.id,
                    message: "port\(taken.count > 1 ? "s" : "") \(taken.map(String.init).joined(separator: ", ")) already in use while k3s is not running",
                    hint: "stop what listens there (another Kubernetes?) before installing k3s"))
            }
        }
        if case .upload = desired.mode, !facts.hasDefaultRoute {
            problems.append(PlanProblem(
                host: host.id, message: "the host has no default route",
                hint: "k3s needs a default route even when air-gapped; add one (a dummy gateway will do)"))
        }
        if !store.isFirstServer(host), let hostOffset = facts.clockOffset, let firstOffset = first?.clockOffset {
            let skew = abs(hostOffset - firstOffset)
            if skew > maxClockSkewSeconds {
                problems.append(PlanProblem(
                    host: host.id,
                    message: "clock differs from the first server by \(Int(skew.rounded())) s",
                    hint: "enable time sync (NTP); TLS certificates and etcd need clocks within \(Int(maxClockSkewSeconds)) s"))
            }
        }
        return problems
    }

    /// An upgrade starts only from a healthy store: every node Ready, every etcd server a voter.
    /// A node that is not would make the upgrade's gates fail for reasons the upgrade did not cause.
    /// The store's upgrade, if any host needs one; "started" when another host already runs the
    /// target, so a re-run continues instead of taking a second snapshot mid-way.
    private func storeUpgrade(_ store: Store, _ contexts: [HostPlanContext], first: HostFacts?) -> StoreUpgrade? {
        let upgrade = UpgradeAction()
        guard let sample = contexts.first(where: { upgrade.need($0) != nil }) else { return nil }
        let target: String
        switch sample.desired.mode {
        case let .upload(binary, _): target = sample.desired.version?.description ?? "binary \(binary.sha256.prefix(12))"
        case .installer: target = sample.desired.version?.description ?? "the installer's release"
        }
        return StoreUpgrade(
            target: target, started: contexts.contains { $0.installed && upgrade.need($0) == nil },
            datastore: store.datastore, existingSnapshots: first?.k3s.snapshots ?? [],
            prefix: sample.distribution.files.snapshotPrefix)
    }

    /// The cluster's nodes that are no host's of the inventory (a host without facts counts by its
    /// `name`, which is its node name; `removing`: the nodes of hosts marked for removal). Names are
    /// the API's: shown escaped.
    static func unmanagedNodes(
        _ nodes: [NodeFacts]?, store: Store, hosts: [HostID: HostWork], removing: [String] = []
    ) -> [String]? {
        guard let nodes else { return nil }
        let managed = Set(hosts.values.map(\.nodeName) + store.hosts.compactMap(\.nodeName) + store.removing.compactMap(\.nodeName) + removing)
        let unmanaged = nodes.map(\.name).filter { !managed.contains($0) }.sorted().map(\.shownAsUntrusted)
        return unmanaged.isEmpty ? nil : unmanaged
    }

    /// A node edgeup itself left mid-restart (its host still owes the restart) is the one a re-run
    /// continues with, not a reason to refuse the upgrade.
    private func unhealthyForUpgrade(
        _ store: Store, nodes: [NodeFacts], hosts: [HostID: HostWork], observations: [HostID: HostObservation]
    ) -> [PlanProblem] {
        let hostOfNode = Dictionary(hosts.values.map { ($0.nodeName, $0.host.id) }, uniquingKeysWith: { first, _ in first })
        return nodes.compactMap { node in
            if let host = hostOfNode[node.name], observations[host]?.facts?.k3s.pendingRestart != nil { return nil }
            let state = !node.ready ? "NotReady" : node.etcdVoter == false ? "not an etcd voter" : nil
            return state.map { state in
                PlanProblem(
                    host: hostOfNode[node.name] ?? store.firstServer?.id,
                    message: "node \(node.name) is \(state); an upgrade starts only from a healthy store",
                    hint: "bring the node back (or remove it) before changing k3s.version")
            }
        }
    }

    /// A host without a `name` registers under its hostname, which the host itself reports: it must
    /// be a valid node name before edgeup uses it anywhere (readiness checks name the node).
    static func nodeNameProblem(_ host: Host, _ facts: HostFacts) -> PlanProblem? {
        guard host.nodeName == nil else { return nil }
        let name = host.nodeName(facts)
        guard let problem = Syntax.dnsSubdomainProblem(name) else { return nil }
        return PlanProblem(
            host: host.id,
            message: "its hostname '\(facts.hostname.shownAsUntrusted)' is not a valid Kubernetes node name: it \(problem)",
            hint: "give the host a 'name' in the inventory (it becomes the node name), or fix its hostname")
    }

    /// A first server without k3s while another server of the store runs the cluster (its machine
    /// was replaced, or a server that never formed the cluster was moved to the top): started
    /// with cluster-init it would form a second cluster instead of joining the first.
    static func secondClusterProblem(_ store: Store, _ observations: [HostID: HostObservation]) -> PlanProblem? {
        guard let first = store.firstServer, let facts = observations[first.id]?.facts, !facts.k3s.installed else { return nil }
        let running = (store.servers + store.removing.filter { $0.role == .server }).filter { server in
            server.id != first.id && observations[server.id]?.facts.map { $0.k3s.installed && $0.k3s.serviceActive } == true
        }
        guard let other = running.first else { return nil }
        return PlanProblem(
            host: first.id,
            message: "has no k3s while \(other.name) runs the store's cluster: formed here (cluster-init) it would start a second cluster",
            hint: "list \(other.name) first in the store's hosts so it takes over, and this host joins it")
    }

    /// Two hosts that would register as the same node (same hostname without a `name`), or cloned
    /// machine images (same machine-id), break a cluster in ways that are hard to see later.
    private func duplicateIdentities(_ store: Store, _ observations: [HostID: HostObservation]) -> [PlanProblem] {
        func duplicates(_ identity: (Host, HostFacts) -> String?, _ problem: (Host, String, String) -> PlanProblem)
            -> [PlanProblem]
        {
            var firstHost: [String: String] = [:]
            var problems: [PlanProblem] = []
            for host in store.hosts {
                guard let facts = observations[host.id]?.facts, let value = identity(host, facts) else { continue }
                if let other = firstHost[value] {
                    problems.append(problem(host, value, other))
                } else {
                    firstHost[value] = host.name
                }
            }
            return problems
        }
        let nodeNames = duplicates({ $0.nodeName($1) }) { host, name, other in
            PlanProblem(
                host: host.id, message: "would register as node '\(name)', like \(other)",
                hint: "give each host a distinct 'name' in the inventory (it becomes the node name)")
        }
        let machineIDs = duplicates({ $1.machineID }) { host, _, other in
            PlanProblem(
                host: host.id, message: "has the same machine-id as \(other) (a cloned image?)",
                hint: "regenerate it: rm /etc/machine-id && systemd-machine-id-setup")
        }
        return nodeNames + machineIDs
    }

    // MARK: actions

    /// Units whose content differs from what the hosts recorded as applied (drift), in apply order.
    private func playbookActions(
        _ rendered: StorePlaybooks, _ store: Store, _ observations: [HostID: HostObservation]
    ) -> [PlannedAction] {
        let first = store.firstServer.flatMap { observations[$0.id]?.facts }
        return rendered.units.compactMap { unit in
            let applied: String?
            switch unit.kind {
            case .manifest(.apply, _, _): applied = first?.playbooks[unit.id]
            case .manifest(.autoDeploy, _, _): applied = first?.playbooks[PlaybookRecord.fileKey(unit.autoDeployPath)]
            case .file, .command: applied = unit.host.flatMap { observations[HostID($0)]?.facts }?.playbooks[unit.recordKey]
            }
            guard applied != unit.sha256 else { return nil }
            let reason: String
            switch applied {
            case nil: reason = "not applied yet"
            case "-"?: reason = "the file is gone"
            case let old?: reason = "changed since applied (\(old.prefix(8)) → \(unit.sha256.prefix(8)))"
            }
            return PlannedAction(
                .applyPlaybook, host: unit.host.map { HostID($0) }, reason: "\(unit.id): \(reason)",
                unit: UnitReference(id: unit.id, sha256: unit.sha256))
        }
    }

    /// "config.yaml differs: disable, tls-san" — key names only, never values (they may be secret).
    static func configDifference(_ current: [String: String]?, _ wanted: [String: String]) -> String {
        guard let current else { return "config.yaml missing" }
        let changed = Set(current.keys).union(wanted.keys).filter { current[$0] != wanted[$0] }.sorted()
        if changed.isEmpty { return "config.yaml differs in formatting" }
        return "config.yaml differs: " + changed.joined(separator: ", ")
    }

    /// Any change to the resolved inventory (a setting, a host, a gateway) changes this.
    public static func fingerprint(of inventory: Inventory) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var stable = inventory
        stable.files = []
        return String(SHA256Digest.hex((try? encoder.encode(stable)) ?? Data()).prefix(16))
    }

    /// A saved plan is stale when its facts changed. Clocks are left out: they always change.
    static func fingerprint(of observations: [HostID: HostObservation]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let stable = observations.mapValues { observation -> HostObservation in
            guard case var .observed(facts) = observation else { return observation }
            facts.clock = nil
            facts.clockOffset = nil
            return .observed(facts)
        }
        let data = (try? encoder.encode(stable)) ?? Data()
        return String(SHA256Digest.hex(data).prefix(16))
    }
}
