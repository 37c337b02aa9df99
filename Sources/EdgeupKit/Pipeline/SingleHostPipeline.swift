/// `edgeup install` / `edgeup join`: the one-store inventory built from flags, through the same
/// plan and execution as a fleet.
public struct SingleHostOptions: Sendable {
    /// From `SingleHostRequest.installInventory` or `.joinInventory`.
    public var inventory: Inventory
    /// The joining machine (`SingleHostInventory.joiner`): the only host worked on. Nil: the
    /// whole store (install).
    public var joiner: String?
    public var kubeconfig: KubeconfigDestination
    /// How long the node may take from start to Ready.
    public var readinessTimeout: Duration
    public var connection: ConnectionOptions

    public init(
        inventory: Inventory, joiner: String?, kubeconfig: KubeconfigDestination, readinessTimeout: Duration,
        connection: ConnectionOptions
    ) {
        self.inventory = inventory
        self.joiner = joiner
        self.kubeconfig = kubeconfig
        self.readinessTimeout = readinessTimeout
        self.connection = connection
    }
}

public struct SingleHostResult: Sendable {
    /// The plan executed (for a join, limited to the joiner).
    public var plan: Plan
    public var rollout: RolloutResult

    public var exitCode: Int32 { rollout.allConverged ? 0 : 1 }
}

/// Plans the store, limits the plan to the joiner if there is one, and executes it (no journal).
/// Sends `.factsProgress`, `.warnings`, `.planned`, then every `.run` event.
public func runSingleHost(_ options: SingleHostOptions, events: @escaping PipelineEvents) async -> SingleHostResult {
    // A join looks at no kubeconfig: it fetches none (the server's store already has its context).
    let planning = PlanningOptions(
        inventory: options.inventory, stores: options.inventory.stores,
        kubeconfig: options.joiner == nil ? options.kubeconfig : .none, connection: options.connection)
    let session = planning.session()
    var gathered = await GatheredPlan.gather(planning, session: session, events: events)
    if let joiner = options.joiner { gathered = gathered.limited(toJoiner: HostID(joiner)) }
    events(.planned(gathered.plan))
    let runner = FleetRunner(
        session: session,
        provisioning: ProvisioningOptions(readinessTimeout: options.readinessTimeout, kubeconfig: options.kubeconfig))
    let outcome = await runner.apply(gathered, run: RunJournal.newRunID(), journal: nil, events: { events(.run($0)) })
    await session.close()
    return SingleHostResult(plan: gathered.plan, rollout: outcome)
}

extension ExecutablePlan {
    /// The plan a join executes: only the joiner's actions, and only the joiner's problems plus
    /// other hosts being unreachable. The server only has to be reachable and running; its own
    /// drift is not the join's business.
    public func limited(toJoiner joiner: HostID) -> ExecutablePlan {
        var plan = self
        for index in plan.stores.indices {
            plan.stores[index].plan.actions.removeAll { $0.host != joiner }
            plan.stores[index].plan.problems.removeAll { $0.host != joiner && $0.kind != .unreachable }
        }
        return plan
    }
}
