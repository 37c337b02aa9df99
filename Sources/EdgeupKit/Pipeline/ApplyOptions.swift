/// `edgeup apply`: what to converge, how fast, and where the run is recorded.
public struct ApplyOptions: Sendable {
    public var planning: PlanningOptions
    /// Apply this saved plan (`--plan`) instead of the fresh one: refused unless it matches it.
    public var savedPlan: String?
    /// Agents of one store joined at once.
    public var agentBatchSize: Int
    /// How long one node may take from start to Ready.
    public var readinessTimeout: Duration
    public var rollout: RolloutOptions
    /// Where the journal and each store's last state go.
    public var state: StateDirectory
    /// Copy artifacts between a store's hosts across its LAN (`LANRelay`); off: each host receives
    /// them from this machine (`--no-lan-copy`).
    public var lanCopy = true

    public init(
        planning: PlanningOptions, savedPlan: String? = nil, agentBatchSize: Int = 10,
        readinessTimeout: Duration = .seconds(180), rollout: RolloutOptions = RolloutOptions(), state: StateDirectory
    ) {
        self.planning = planning
        self.savedPlan = savedPlan
        self.agentBatchSize = agentBatchSize
        self.readinessTimeout = readinessTimeout
        self.rollout = rollout
        self.state = state
    }

    /// Provisioning as the flags ask, kubeconfigs going where planning looked for them.
    public var provisioning: ProvisioningOptions {
        var options = ProvisioningOptions(
            agentBatchSize: agentBatchSize, readinessTimeout: readinessTimeout, kubeconfig: planning.kubeconfig)
        options.lanCopy = lanCopy
        return options
    }
}
