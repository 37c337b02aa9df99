import Foundation

/// A whole fleet run: facts over every selected host, the plan, then the rollout across stores.
public struct FleetRunner: Sendable {
    public var session: FleetSession
    public var factsConcurrency: Int
    public var provisioning: ProvisioningOptions
    public var rollout: RolloutOptions
    public var kubeconfigContexts: Set<String>?
    /// Rendered playbooks per store (see `PlaybookRenderer`).
    public var playbooks: [String: StorePlaybooks]
    public var playbooksOnly: Bool
    /// `--allow-downgrade` (see `Planner.allowDowngrade`).
    public var allowDowngrade = false
    /// `--drain` (see `Planner.drain`).
    public var drain: DrainPolicy?

    public init(
        session: FleetSession, factsConcurrency: Int = 100, provisioning: ProvisioningOptions = ProvisioningOptions(),
        rollout: RolloutOptions = RolloutOptions(), kubeconfigContexts: Set<String>? = nil,
        playbooks: [String: StorePlaybooks] = [:], playbooksOnly: Bool = false
    ) {
        self.session = session
        self.factsConcurrency = factsConcurrency
        self.provisioning = provisioning
        self.rollout = rollout
        self.kubeconfigContexts = kubeconfigContexts
        self.playbooks = playbooks
        self.playbooksOnly = playbooksOnly
    }

    /// The facts and the executable plan for the selected stores.
    public func plan(
        _ inventory: Inventory, stores: [Store], onHost: (@Sendable (StoreHost, HostObservation) -> Void)? = nil
    ) async -> ExecutablePlan {
        let planner = Planner(
            artifacts: LocalArtifacts.inspect(stores), kubeconfigContexts: kubeconfigContexts, playbooks: playbooks,
            playbooksOnly: playbooksOnly, allowDowngrade: allowDowngrade, drain: drain)
        let observations = await FactsGatherer(session: session, concurrency: factsConcurrency).gather(stores, onHost: onHost)
        return planner.plan(inventory, stores: stores, observations: observations)
    }

    /// Executes `plan` under the rollout rules. Stores with nothing to do count as converged
    /// without being touched.
    public func apply(
        _ plan: ExecutablePlan, run: String, journal: RunJournal?, events: @escaping @Sendable (RunEvent) -> Void
    ) async -> RolloutResult {
        let runner = StoreRunner(
            session: session, options: provisioning, run: run, journal: journal,
            kubeconfigWriter: KubeconfigWriter(destination: provisioning.kubeconfig), events: events)
        let work = Dictionary(uniqueKeysWithValues: plan.stores.map { ($0.store.name, $0) })
        let pending = plan.stores.filter { $0.plan.status != .converged }.map(\.store.name)
        var result = await Rollout.run(pending, options: rollout) { name in
            guard let store = work[name] else { preconditionFailure("rollout ran a store it was not given") }
            return await runner.converge(store)
        }
        for store in plan.stores where store.plan.status == .converged {
            result.outcomes.append(StoreOutcome(store: store.store.name, result: .unchanged, message: "already converged"))
            // Recorded too: a run killed after converging a store but before saving its state must
            // not leave `status` showing the store as never finished once this run found it converged.
            try? journal?.storeFinished(StoreState(
                store: store.store.name, run: run, finishedAt: Date(), outcome: .converged, message: "already converged",
                actionsDone: []))
        }
        return result
    }
}
