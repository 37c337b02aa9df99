import Foundation

/// Where a converged store's kubeconfig goes.
public enum KubeconfigDestination: Sendable {
    /// Merged into this file under its lock; `fleet` scopes what `--prune` may remove.
    case merge(KubeconfigFile, fleet: String, setCurrent: Bool)
    /// One standalone file per store in this folder (`--no-merge`).
    case separateFiles(directory: String, fleet: String)
    case none
}

public struct ProvisioningOptions: Sendable {
    /// Agents joined at once (k3s suggests at most 50).
    public var agentBatchSize: Int
    /// How long one node may take from start to Ready.
    public var readinessTimeout: Duration
    public var kubeconfig: KubeconfigDestination
    /// Whether a store's hosts copy artifacts from one another across its LAN (see `LANRelay`).
    public var lanCopy = true

    public init(agentBatchSize: Int = 10, readinessTimeout: Duration = .seconds(180), kubeconfig: KubeconfigDestination = .none) {
        self.agentBatchSize = agentBatchSize
        self.readinessTimeout = readinessTimeout
        self.kubeconfig = kubeconfig
    }
}

/// Converges one store by executing its plan in the order k3s needs: the first server, the other
/// servers one at a time (each Ready before the next), then agents in parallel batches, then the
/// kubeconfig. Stops the store at its first server failure; agent failures fail the store but
/// let the rest of the batch finish.
public struct StoreRunner: Sendable {
    public var session: FleetSession
    public var options: ProvisioningOptions
    public var run: String
    public var journal: RunJournal?
    public var events: @Sendable (RunEvent) -> Void
    /// Shared by all stores of a run, so their kubeconfigs land in few locked writes.
    public var kubeconfigWriter: KubeconfigWriter

    public init(
        session: FleetSession, options: ProvisioningOptions, run: String, journal: RunJournal?,
        kubeconfigWriter: KubeconfigWriter? = nil, events: @escaping @Sendable (RunEvent) -> Void
    ) {
        self.session = session
        self.options = options
        self.run = run
        self.journal = journal
        self.kubeconfigWriter = kubeconfigWriter ?? KubeconfigWriter(destination: options.kubeconfig)
        self.events = events
    }

    public func converge(_ work: StoreWork) async -> StoreOutcome {
        let store = work.store
        events(RunEvent(.storeStarted, run: run, store: store.name))
        var done: [String] = []
        var outcome: StoreOutcome
        do {
            let progress = try await execute(work)
            done = progress.done
            outcome = StoreOutcome(store: store.name, converged: true)
            outcome.snapshot = progress.snapshot
        } catch let error as ProvisioningError {
            outcome = StoreOutcome(store: store.name, converged: false, message: Self.interrupted(error.description))
        } catch {
            outcome = StoreOutcome(store: store.name, converged: false, message: Self.interrupted("\(error)"))
        }
        events(RunEvent(
            .storeFinished, run: run, store: store.name, outcome: outcome.converged ? .ok : .failed,
            message: outcome.message))
        try? journal?.storeFinished(StoreState(
            store: store.name, run: run, finishedAt: Date(), outcome: outcome.converged ? .converged : .failed,
            message: outcome.message, actionsDone: done))
        return outcome
    }

    private func execute(_ work: StoreWork) async throws -> Progress {
        let (store, plan) = (work.store, work.plan)
        if let problem = plan.problems.first {
            // One problem names its host in the label; several are listed with theirs.
            guard plan.problems.count > 1 else {
                let text = problem.message + (problem.hint.map { " (\($0))" } ?? "")
                throw ProvisioningError(host: "\(store.name)/\(problem.host ?? "-")", step: .preflight, text)
            }
            throw ProvisioningError(
                host: store.name, step: .preflight, plan.problems.map(\.description).joined(separator: "; "))
        }
        guard let firstHost = store.firstServer else { return Progress() }
        let first = try await makeOperator(firstHost, work)
        let lock = StoreLock(first: first, run: run, owner: StoreLock.localOwner)
        if case let .tookOver(previous) = try await lock.acquire() {
            events(RunEvent(.warning, run: run, store: store.name, host: firstHost.name, message: "took over the store lock of \(previous)"))
        }
        let renewal = lock.keepAlive()
        // Released even when the run was interrupted (a cancelled task could not run it).
        let release = { @Sendable in
            renewal.cancel()
            await Task.detached { await lock.release() }.value
        }
        do {
            let done = try await execute(work, first: first)
            await release()
            return done
        } catch {
            await release()
            throw error
        }
    }

    /// A failure caused by SIGINT/SIGTERM says so first.
    private static func interrupted(_ message: String) -> String {
        Task.isCancelled ? "interrupted: \(message)" : message
    }

    /// What a store's run did so far: its steps, the snapshot it took, and whether a node was
    /// already taken down for an upgrade (from then on a failure names the rollback).
    private struct Progress: Sendable {
        var done: [String] = []
        var snapshot: String?
        var upgradeBegan = false

        mutating func merge(_ other: Progress) {
            done += other.done
            snapshot = other.snapshot ?? snapshot
            upgradeBegan = upgradeBegan || other.upgradeBegan
        }
    }

    /// The store's actions, under its lock.
    private func execute(_ work: StoreWork, first: HostOperator) async throws -> Progress {
        var progress = Progress()
        do {
            let cluster = ClusterAccess(first: first, tokens: TokenSource(first: first))
            try await stage(work, cluster: cluster, progress: &progress)
            try await convergeHosts(work, cluster: cluster, progress: &progress)
            try await removeHosts(work, first: first, progress: &progress)
        } catch var error as ProvisioningError {
            if let upgrade = work.upgrade, progress.upgradeBegan || upgrade.started {
                error.rollback = UpgradeRollback.steps(
                    store: work.store, upgrade: upgrade, snapshot: progress.snapshot ?? upgrade.earlierSnapshot,
                    files: first.files, service: first.service)
            }
            throw error
        }
        let store = work.store
        let playbookActions = work.actions(.applyPlaybook)
        if !playbookActions.isEmpty {
            let applier = PlaybookApplier(
                store: store, playbooks: work.playbooks, first: first, makeOperator: { try await makeOperator($0, work) },
                events: events, run: run)
            progress.done += try await applier.apply(playbookActions)
        }
        if !work.actions(.fetchKubeconfig).isEmpty {
            try await fetchKubeconfig(store, from: first)
            progress.done.append("fetch-kubeconfig")
        }
        return progress
    }

    /// The stage phase: every host's staged steps, in parallel batches, all before any host's own
    /// steps; a failure anywhere stops the store with nothing restarted.
    private func stage(_ work: StoreWork, cluster: ClusterAccess, progress: inout Progress) async throws {
        let staged = work.plan.actions.filter { $0.kind.phase == .stage }
        let hosts = work.store.hosts.filter { host in staged.contains { $0.host == host.id } }
        let size = max(1, options.agentBatchSize)
        for batchStart in stride(from: 0, to: hosts.count, by: size) {
            let batch = hosts[batchStart..<min(batchStart + size, hosts.count)]
            let results = await withTaskGroup(of: Result<Progress, ProvisioningError>.self) { group in
                for host in batch {
                    group.addTask {
                        do {
                            let node = try await makeOperator(host, work)
                            var hostProgress = Progress()
                            try await perform(
                                staged.filter { $0.host == host.id }, on: node, cluster: cluster, work: work, progress: &hostProgress)
                            return .success(hostProgress)
                        } catch {
                            return .failure(Self.provisioningError(error, host: host, store: work.store, step: .action(.stageBinary)))
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            try merge(results, into: &progress)
        }
    }

    private func convergeHosts(_ work: StoreWork, cluster: ClusterAccess, progress: inout Progress) async throws {
        let store = work.store
        let first = cluster.first
        let firstHost = first.target.host
        // Servers one at a time: etcd admits one learner at a time, and a restart of an HA store
        // must keep a quorum. Agents start only once every server has converged.
        for server in store.servers {
            let actions = work.actions(on: server)
            guard !actions.isEmpty else { continue }
            let node = server.name == firstHost.name ? first : try await makeOperator(server, work)
            try await converge(node, actions, cluster: cluster, work: work, progress: &progress)
        }
        let agents = store.agents.filter { !work.actions(on: $0).isEmpty }
        // Certificates are renewed one node at a time, agents too.
        let renewing = agents.contains { agent in work.actions(on: agent).contains { $0.kind == .renewCertificates } }
        let size = renewing ? 1 : max(1, options.agentBatchSize)
        for batchStart in stride(from: 0, to: agents.count, by: size) {
            let batch = agents[batchStart..<min(batchStart + size, agents.count)]
            let results = await withTaskGroup(of: Result<Progress, ProvisioningError>.self) { group in
                for agent in batch {
                    group.addTask {
                        var agentProgress = Progress()
                        do {
                            let node = try await makeOperator(agent, work)
                            try await converge(
                                node, work.actions(on: agent), cluster: cluster, work: work,
                                progress: &agentProgress)
                            return .success(agentProgress)
                        } catch {
                            return .failure(Self.provisioningError(error, host: agent, store: store, step: .join))
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            try merge(results, into: &progress)
        }
    }

    /// The removal phase: hosts marked `remove: true`, one at a time in plan order, once the
    /// remaining hosts have converged (a new first server has taken over by then).
    private func removeHosts(_ work: StoreWork, first: HostOperator, progress: inout Progress) async throws {
        let store = work.store
        let removal = NodeRemoval(
            cluster: first, session: session, journal: journal, drainTimeoutSeconds: work.hosts.values.first?.drain?.timeoutSeconds ?? 300)
        for action in work.actions(.removeNode) {
            guard let id = action.host, let planned = work.removals[id] else { continue }
            let name = planned.host.name
            events(RunEvent(.stepStarted, run: run, store: store.name, host: name, action: .removeNode, message: action.reason))
            do {
                let report = try await removal.remove(planned, from: store)
                events(RunEvent(.stepFinished, run: run, store: store.name, host: name, action: .removeNode, outcome: .changed, message: report))
            } catch {
                let failure = Self.provisioningError(error, host: planned.host, store: store, step: .action(.removeNode))
                events(RunEvent(
                    .stepFinished, run: run, store: store.name, host: name, action: .removeNode, outcome: .failed, message: failure.summary))
                throw failure
            }
            progress.done.append("remove-node on \(name)")
        }
    }

    /// Adds a batch's progress; throws its first failure, counting the others.
    private func merge(_ results: [Result<Progress, ProvisioningError>], into progress: inout Progress) throws {
        var failures: [ProvisioningError] = []
        for result in results {
            switch result {
            case let .success(hostProgress): progress.merge(hostProgress)
            case let .failure(error): failures.append(error)
            }
        }
        guard var error = failures.first else { return }
        if failures.count > 1 { error.message += " (and \(failures.count - 1) more host\(failures.count > 2 ? "s" : ""))" }
        throw error
    }

    private static func provisioningError(_ error: any Error, host: Host, store: Store, step: ProvisioningStep) -> ProvisioningError {
        error as? ProvisioningError ?? ProvisioningError(host: "\(store.name)/\(host.name)", step: step, "\(error)")
    }

    /// One host's actions, then its readiness if it was (re)started: on an upgrade, Ready on the
    /// target's kubelet version.
    private func converge(
        _ node: HostOperator, _ actions: [PlannedAction], cluster: ClusterAccess, work: StoreWork,
        progress: inout Progress
    ) async throws {
        let store = work.store
        if !store.isFirstServer(node.target.host), actions.contains(where: { $0.kind == .start }),
            let url = node.distribution.joinURL(for: store)
        {
            try await node.checkReachable(url)
        }
        let restart = actions.first { $0.kind == .start || $0.kind == .restart }
        if let restart {
            // Before anything k3s reads at start changes: a run killed from here on leaves the marker,
            // and the next plan owes the restart instead of calling the host converged.
            try await node.markPendingRestart("\(restart.kind.rawValue): \(restart.reason)")
        }
        try await perform(actions.filter { !$0.kind.followsReadiness }, on: node, cluster: cluster, work: work, progress: &progress)
        if restart != nil {
            let host = node.target.host
            let nodeName = node.nodeName
            let requireEtcd = store.datastore == .etcd && host.role == .server
            let upgraded = actions.contains { $0.kind == .upgrade }
            try await Readiness(timeout: options.readinessTimeout).wait(
                for: node, nodeName: nodeName, cluster: cluster.first, requireEtcd: requireEtcd,
                kubeletVersion: upgraded ? node.desired.version?.description : nil)
            try await node.clearPendingRestart()
            events(RunEvent(.stepFinished, run: run, store: store.name, host: node.target.host.name, outcome: .ok, message: "node \(nodeName) Ready"))
        }
        try await perform(actions.filter(\.kind.followsReadiness), on: node, cluster: cluster, work: work, progress: &progress)
    }

    private func perform(
        _ actions: [PlannedAction], on node: HostOperator, cluster: ClusterAccess, work: StoreWork, progress: inout Progress
    ) async throws {
        let (store, host) = (work.store, node.target.host.name)
        for action in actions {
            events(RunEvent(.stepStarted, run: run, store: store.name, host: host, action: action.kind, message: action.reason))
            if action.kind == .upgrade || (action.kind == .snapshot && store.datastore == .sqlite) { progress.upgradeBegan = true }
            let report: String?
            do {
                report = try await node.perform(action, cluster: cluster)
            } catch let error as ProvisioningError {
                events(RunEvent(.stepFinished, run: run, store: store.name, host: host, action: action.kind, outcome: .failed, message: error.summary))
                throw error
            }
            if action.kind == .snapshot { progress.snapshot = report }
            events(RunEvent(
                .stepFinished, run: run, store: store.name, host: host, action: action.kind, outcome: .changed, message: report))
            progress.done.append("\(action.kind.rawValue) on \(host)")
        }
    }

    private func makeOperator(_ host: Host, _ work: StoreWork) async throws -> HostOperator {
        let store = work.store
        let target = StoreHost(store: store, host: host)
        guard let planned = work.hosts[host.id] else {
            throw ProvisioningError(host: target.label, step: .facts, "the plan has nothing for this host (no facts were gathered)")
        }
        do {
            let remote = try await session.connection(to: host, in: store)
            let sudo = try session.access.sudo(for: host, in: store)
            let journal = journal
            var node = HostOperator(
                target: target, remote: remote, sudo: sudo, planned: planned, upgrade: work.upgrade, run: run,
                log: { text in journal?.log(store: store.name, host: host.name, text) })
            if options.lanCopy && store.hosts.count > 1 { node.relay = work.relay }
            return node
        } catch {
            throw ProvisioningError(error, on: target.label, step: .connect)
        }
    }

    private func fetchKubeconfig(_ store: Store, from first: HostOperator) async throws {
        guard let fleet = options.kubeconfig.fleet else { return }
        let entry = try await KubeconfigFetcher(session: session).fetch(store, fleet: fleet)
        do {
            try await kubeconfigWriter.write(entry)
        } catch {
            throw ProvisioningError(host: first.label, step: .action(.fetchKubeconfig), "\(error)")
        }
        events(RunEvent(.stepFinished, run: run, store: store.name, host: first.target.host.name, action: .fetchKubeconfig, outcome: .changed))
    }
}
