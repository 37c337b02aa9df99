/// What `runApply` did: the plan it executed, each store's outcome, and where the run is recorded.
public struct ApplyResult: Sendable {
    public var plan: Plan
    public var rollout: RolloutResult
    /// The run's id, and its folder in the state directory (journal, host logs).
    public var run: String
    public var runFolder: String
    /// Seconds each finished store took.
    public var storeSeconds: [String: Double]
    /// The signal (SIGINT, SIGTERM) that stopped the run early, if one did.
    public var interruptedBy: Int32?
    /// Bytes the run's uploads sent (artifacts, configs, scripts).
    public var bytesUploaded = 0

    public init(
        plan: Plan, rollout: RolloutResult, run: String, runFolder: String, storeSeconds: [String: Double],
        interruptedBy: Int32?
    ) {
        self.plan = plan
        self.rollout = rollout
        self.run = run
        self.runFolder = runFolder
        self.storeSeconds = storeSeconds
        self.interruptedBy = interruptedBy
    }

    /// 128 + the signal when interrupted, else 0 only if every selected store converged, else 1.
    public var exitCode: Int32 {
        if let interruptedBy { return 128 + interruptedBy }
        return rollout.allConverged ? 0 : 1
    }
}
