/// `edgeup plan`: facts, the plan, and optionally the plan saved for `apply --plan`.
public struct PlanOptions: Sendable {
    public var planning: PlanningOptions
    /// Also save the plan as JSON here (`--out`).
    public var out: String?

    public init(planning: PlanningOptions, out: String? = nil) {
        self.planning = planning
        self.out = out
    }
}

/// Gathers facts from every selected host (read-only) and plans; changes nothing on any host.
/// Sends `.factsProgress` and `.warnings`. Throws what writing `out` throws.
public func runPlan(_ options: PlanOptions, events: @escaping PipelineEvents) async throws -> Plan {
    let plan = await GatheredPlan.gather(options.planning, events: events).plan
    if let out = options.out { try SavedPlan.write(plan, to: out) }
    return plan
}

extension Plan {
    /// How `plan` exits: 1 if a store is blocked; with `detailed` (`--detailed-exitcode`), 2 when
    /// changes are pending; else 0.
    public func exitCode(detailed: Bool) -> Int32 {
        if hasProblems { return 1 }
        return detailed && hasChanges ? 2 : 0
    }
}
