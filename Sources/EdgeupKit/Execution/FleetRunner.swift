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

    /// The facts and plan for the selected stores.
    public func plan(
        _ inventory: Inventory, stores: [Store], onHost: (@Sendable (StoreHost, HostObservation) -> Void)? = nil
    ) async -> (plan: Plan, observations: [String: [String: HostObservation]], planner: Planner) {
        let planner = Planner(
            artifacts: LocalArtifacts.inspect(stores), kubeconfigContexts: kubeconfigContexts, playbooks: playbooks,
            playbooksOnly: playbooksOnly)
        let observations = await FactsGatherer(session: session, concurrency: factsConcurrency).gather(stores, onHost: onHost)
        return (planner.plan(inventory, stores: stores, observations: observations), observations, planner)
    }

    /// Executes `plan` (computed by `plan(_:stores:)` in this run) under the rollout rules.
    /// Stores with nothing to do count as converged without being touched.
    public func apply(
        _ plan: Plan, stores: [Store], observations: [String: [String: HostObservation]], planner: Planner,
        run: String, journal: RunJournal?, events: @escaping @Sendable (RunEvent) -> Void
    ) async -> RolloutResult {
        let runner = StoreRunner(
            session: session, planner: planner, options: provisioning, run: run, journal: journal,
            kubeconfigWriter: KubeconfigWriter(destination: provisioning.kubeconfig), events: events)
        let storesByName = Dictionary(uniqueKeysWithValues: stores.map { ($0.name, $0) })
        let plans = Dictionary(uniqueKeysWithValues: plan.stores.map { ($0.store, $0) })
        let work = plan.stores.filter { !$0.actions.isEmpty || !$0.problems.isEmpty }.map(\.store)
        var result = await Rollout.run(work, options: rollout) { name in
            guard let store = storesByName[name], let storePlan = plans[name] else {
                return StoreOutcome(store: name, converged: false, message: "not in the selection")
            }
            return await runner.converge(store, plan: storePlan, observations: observations[name] ?? [:])
        }
        for storePlan in plan.stores where storePlan.actions.isEmpty && storePlan.problems.isEmpty {
            result.outcomes.append(StoreOutcome(store: storePlan.store, converged: true, message: "already converged"))
            // Recorded too: a run killed after converging a store but before saving its state must
            // not leave `status` showing the store as never finished once this run found it converged.
            try? journal?.storeFinished(StoreState(
                store: storePlan.store, run: run, finishedAt: Date(), outcome: .converged, message: "already converged",
                actionsDone: []))
        }
        return result
    }
}
