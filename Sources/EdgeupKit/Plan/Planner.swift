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

    public init(
        artifacts: LocalArtifacts, kubeconfigContexts: Set<String>? = nil, playbooks: [String: StorePlaybooks] = [:],
        playbooksOnly: Bool = false
    ) {
        self.artifacts = artifacts
        self.kubeconfigContexts = kubeconfigContexts
        self.playbooks = playbooks
        self.playbooksOnly = playbooksOnly
    }

    public func plan(_ inventory: Inventory, stores: [Store], observations: [String: [String: HostObservation]]) -> Plan {
        Plan(
            inventoryFiles: inventory.files, inventoryFingerprint: Self.fingerprint(of: inventory),
            stores: stores.map { plan($0, observations: observations[$0.name] ?? [:]) })
    }

    /// One store's plan. `observations` is keyed by host name.
    public func plan(_ store: Store, observations: [String: HostObservation]) -> StorePlan {
        var problems: [PlanProblem] = []
        var actions: [PlannedAction] = []
        let first = store.firstServer.flatMap { observations[$0.name]?.facts }
        problems += duplicateIdentities(store, observations)
        for host in store.hosts {
            guard let observation = observations[host.name] else {
                problems.append(PlanProblem(host: host.name, message: "no facts were gathered"))
                continue
            }
            guard case let .observed(facts) = observation else {
                if case let .unreachable(reason) = observation {
                    problems.append(PlanProblem(host: host.name, message: "unreachable: \(reason)"))
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
                guard !playbooksOnly else { continue }
                let hostProblems = preflight(host, store, facts, desired, first: first)
                problems += hostProblems
                if hostProblems.isEmpty {
                    actions += hostActions(host, store, facts, desired, first: first)
                }
            }
        }
        if playbooksOnly, let server = store.firstServer, let first, !(first.k3s.serviceActive && first.k3s.apiReady) {
            problems.append(PlanProblem(
                host: server.name, message: "the cluster is not running, so --playbooks-only has nothing to apply to",
                hint: "run edgeup apply without --playbooks-only to form it"))
        }
        let known = kubeconfigContexts.map { $0.contains(store.context) }
        let clusterExists = first?.k3s.installed == true
        if !playbooksOnly, !actions.isEmpty || (known == false && clusterExists) {
            let reason = actions.isEmpty ? "context \(store.context) is not in your kubeconfig" : "after changes"
            actions.append(PlannedAction(.fetchKubeconfig, host: store.firstServer?.name, reason: reason))
        }
        if let rendered = playbooks[store.name] {
            let playbookActions = playbookActions(rendered, store, observations)
            let fetch = actions.firstIndex { $0.kind == .fetchKubeconfig } ?? actions.endIndex
            actions.insert(contentsOf: playbookActions, at: fetch)
        }
        return StorePlan(
            store: store.name, actions: actions, problems: problems,
            factsFingerprint: Self.fingerprint(of: observations))
    }

    // MARK: desired state and preflight

    /// What edgeup wants on `host`; execution uses the same answer the plan was computed from.
    public func desiredState(_ host: Host, _ store: Store, _ facts: HostFacts) -> Result<HostDesiredState, PlanProblem> {
        guard let architecture = facts.architecture else {
            return .failure(PlanProblem(
                host: host.name, message: "unsupported machine '\(facts.machine)'",
                hint: "k3s runs on amd64, arm64 and armv7"))
        }
        let mode: InstallMode
        if let binary = store.k3s.binary {
            guard let path = binary.path(for: architecture) else {
                return .failure(PlanProblem(
                    host: host.name, message: "no k3s binary for \(architecture.rawValue) in k3s.binary",
                    hint: "add \(architecture.rawValue): PATH to the store's k3s.binary"))
            }
            guard let artifact = artifacts.byPath[path] else {
                return .failure(PlanProblem(
                    host: host.name, message: artifacts.unreadable[path] ?? "k3s binary \(path) was not inspected"))
            }
            if artifact.architecture != architecture {
                return .failure(PlanProblem(
                    host: host.name,
                    message: "\(path) is built for \(artifact.architecture?.rawValue ?? "an unknown CPU") but the host is \(architecture.rawValue) (\(facts.machine))",
                    hint: "point k3s.binary at the \(architecture.rawValue) build, or use a per-architecture map"))
            }
            var images: LocalArtifact?
            if let imagesPath = store.k3s.airgapImages?.path(for: architecture) {
                guard let artifact = artifacts.byPath[imagesPath] else {
                    return .failure(PlanProblem(
                        host: host.name, message: artifacts.unreadable[imagesPath] ?? "\(imagesPath) was not inspected"))
                }
                images = artifact
            }
            mode = .upload(binary: artifact, images: images)
        } else {
            mode = .installer(
                version: store.k3s.version, channel: store.k3s.channel,
                scriptURL: store.k3s.installScriptURL ?? HostDesiredState.defaultInstallScriptURL)
        }
        guard let initSystem = facts.initSystem else {
            return .failure(PlanProblem(
                host: host.name, message: "neither systemd nor OpenRC runs on this host",
                hint: "k3s needs a service manager to keep it running"))
        }
        return .success(HostDesiredState(host: host, store: store, mode: mode, initSystem: initSystem))
    }

    private func preflight(
        _ host: Host, _ store: Store, _ facts: HostFacts, _ desired: HostDesiredState, first: HostFacts?
    ) -> [PlanProblem] {
        var problems: [PlanProblem] = []
        if !facts.k3s.serviceActive {
            let needed = host.role == .server
                ? FactsProbe.requiredPorts.filter { store.datastore == .etcd || ($0 != 2379 && $0 != 2380) }
                : [10250]
            let taken = facts.listeningPorts.filter(needed.contains)
            if !taken.isEmpty {
                problems.append(PlanProblem(
                    host: host.name,
                    message: "port\(taken.count > 1 ? "s" : "") \(taken.map(String.init).joined(separator: ", ")) already in use while k3s is not running",
                    hint: "stop what listens there (another Kubernetes?) before installing k3s"))
            }
        }
        if case .upload = desired.mode, !facts.hasDefaultRoute {
            problems.append(PlanProblem(
                host: host.name, message: "the host has no default route",
                hint: "k3s needs a default route even when air-gapped; add one (a dummy gateway will do)"))
        }
        if !store.isFirstServer(host), let hostOffset = facts.clockOffset, let firstOffset = first?.clockOffset {
            let skew = abs(hostOffset - firstOffset)
            if skew > maxClockSkewSeconds {
                problems.append(PlanProblem(
                    host: host.name,
                    message: "clock differs from the first server by \(Int(skew.rounded())) s",
                    hint: "enable time sync (NTP); TLS certificates and etcd need clocks within \(Int(maxClockSkewSeconds)) s"))
            }
        }
        return problems
    }

    /// A host without a `name` registers under its hostname, which the host itself reports: it must
    /// be a valid node name before edgeup uses it anywhere (readiness checks name the node).
    static func nodeNameProblem(_ host: Host, _ facts: HostFacts) -> PlanProblem? {
        guard host.nodeName == nil else { return nil }
        let name = host.nodeName(facts)
        guard let problem = Syntax.dnsSubdomainProblem(name) else { return nil }
        return PlanProblem(
            host: host.name,
            message: "its hostname '\(facts.hostname.shownAsUntrusted)' is not a valid Kubernetes node name: it \(problem)",
            hint: "give the host a 'name' in the inventory (it becomes the node name), or fix its hostname")
    }

    /// Two hosts that would register as the same node (same hostname without a `name`), or cloned
    /// machine images (same machine-id), break a cluster in ways that are hard to see later.
    private func duplicateIdentities(_ store: Store, _ observations: [String: HostObservation]) -> [PlanProblem] {
        func duplicates(_ identity: (Host, HostFacts) -> String?, _ problem: (Host, String, String) -> PlanProblem)
            -> [PlanProblem]
        {
            var firstHost: [String: String] = [:]
            var problems: [PlanProblem] = []
            for host in store.hosts {
                guard let facts = observations[host.name]?.facts, let value = identity(host, facts) else { continue }
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
                host: host.name, message: "would register as node '\(name)', like \(other)",
                hint: "give each host a distinct 'name' in the inventory (it becomes the node name)")
        }
        let machineIDs = duplicates({ $1.machineID }) { host, _, other in
            PlanProblem(
                host: host.name, message: "has the same machine-id as \(other) (a cloned image?)",
                hint: "regenerate it: rm /etc/machine-id && systemd-machine-id-setup")
        }
        return nodeNames + machineIDs
    }

    // MARK: actions

    private func hostActions(
        _ host: Host, _ store: Store, _ facts: HostFacts, _ desired: HostDesiredState, first: HostFacts?
    ) -> [PlannedAction] {
        var actions: [PlannedAction] = []
        var restartReasons: [String] = []
        func add(_ kind: ActionKind, _ reason: String) {
            actions.append(PlannedAction(kind, host: host.name, reason: reason))
        }
        let installed = facts.k3s.installed
        let current = facts.k3s.version?.description ?? "an unknown k3s"
        switch desired.mode {
        case let .upload(binary, images):
            let target = desired.version?.description ?? "the k3s binary \(String(binary.sha256.prefix(12)))"
            if !installed {
                add(.install, "\(target), uploaded (air gap)")
            } else if facts.k3s.binarySHA256 != binary.sha256 {
                add(.upgrade, "\(current) → \(target)")
                restartReasons.append("new binary")
            }
            if let images, facts.k3s.airgapImages[URL(fileURLWithPath: images.path).lastPathComponent] != images.size {
                add(.uploadImages, "\(URL(fileURLWithPath: images.path).lastPathComponent) missing or different")
            }
        case let .installer(version, channel, _):
            let target = version ?? "channel \(channel ?? "stable")"
            if !installed {
                add(.install, "\(target) with the k3s installer")
            } else if let wanted = desired.version, facts.k3s.version != wanted {
                add(.upgrade, "\(current) → \(wanted)")
                restartReasons.append("new version")
            }
        }
        if let wanted = desired.scriptsSHA256, facts.k3s.scriptsSHA256 != wanted {
            add(.writeScripts, facts.k3s.scriptsSHA256 == nil ? "killall/uninstall scripts missing" : "killall/uninstall scripts differ")
        }
        if let wanted = desired.serviceSHA256, facts.k3s.serviceFilesSHA256 != wanted {
            add(.writeService, facts.k3s.serviceFilesSHA256 == nil ? "service not defined" : "service definition differs")
            if installed { restartReasons.append("service definition") }
        } else if desired.serviceSHA256 != nil, !facts.k3s.serviceEnabled {
            add(.writeService, "service not enabled at boot")
        }
        if facts.k3s.configSHA256 != desired.config.fingerprint {
            add(.writeConfig, Self.configDifference(facts.k3s.configKeys, desired.config.keyFingerprints))
            if installed { restartReasons.append("config.yaml") }
        }
        if !store.isFirstServer(host) {
            let wanted = host.role == .server ? first?.k3s.serverTokenFingerprint : first?.k3s.agentJoinTokenFingerprint
            let held = facts.k3s.joinTokenFingerprint
            if wanted == nil || held != wanted {
                let reason: String
                if host.role == .agent, held != nil, held == first?.k3s.serverTokenFingerprint {
                    reason = "the agent holds the server token; agents get the agent token"
                } else if wanted == nil {
                    reason = "read from the first server once it is up"
                } else {
                    reason = held == nil ? "join token missing" : "join token differs from the cluster's"
                }
                add(.writeToken, reason)
                if installed { restartReasons.append("join token") }
            }
        }
        if host.role == .server {
            let secret = facts.k3s.agentTokenFingerprint
            if store.isFirstServer(host) {
                if secret == nil {
                    add(.writeAgentToken, "no agent token yet: edgeup generates one")
                    if installed { restartReasons.append("agent token") }
                }
            } else if secret == nil || secret != first?.k3s.agentTokenFingerprint {
                add(.writeAgentToken, secret == nil ? "agent token missing: copied from the first server" : "agent token differs from the first server's")
                if installed { restartReasons.append("agent token") }
            }
        }
        if let pending = facts.k3s.pendingRestart, installed {
            restartReasons.append("a restart an interrupted run left pending (\(pending))")
        }
        let node = host.nodeName(facts)
        if !facts.k3s.serviceActive {
            let reason: String
            if installed {
                reason = "service is not running"
            } else if store.isFirstServer(host) {
                reason = store.datastore == .etcd ? "initialise the cluster (embedded etcd)" : "start the cluster (SQLite)"
            } else {
                reason = host.role == .server ? "join as a server" : "join as an agent"
            }
            add(.start, reason)
        } else if !restartReasons.isEmpty {
            add(.restart, "to apply: " + restartReasons.joined(separator: ", "))
        } else if let nodes = first?.k3s.nodes, !nodes.contains(where: { $0.name == node }) {
            add(.restart, "node '\(node)' is not registered in the cluster")
        }
        return actions
    }

    /// Units whose content differs from what the hosts recorded as applied (drift), in apply order.
    private func playbookActions(
        _ rendered: StorePlaybooks, _ store: Store, _ observations: [String: HostObservation]
    ) -> [PlannedAction] {
        let first = store.firstServer.flatMap { observations[$0.name]?.facts }
        return rendered.units.compactMap { unit in
            let applied: String?
            switch unit.kind {
            case .manifest(.apply, _, _): applied = first?.playbooks[unit.id]
            case .manifest(.autoDeploy, _, _): applied = first?.playbooks[PlaybookRecord.fileKey(unit.autoDeployPath)]
            case .file, .command: applied = unit.host.flatMap { observations[$0]?.facts }?.playbooks[unit.recordKey]
            }
            guard applied != unit.sha256 else { return nil }
            let reason: String
            switch applied {
            case nil: reason = "not applied yet"
            case "-"?: reason = "the file is gone"
            case let old?: reason = "changed since applied (\(old.prefix(8)) → \(unit.sha256.prefix(8)))"
            }
            return PlannedAction(
                .applyPlaybook, host: unit.host, reason: "\(unit.id): \(reason)",
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
    static func fingerprint(of observations: [String: HostObservation]) -> String {
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
