/// `edgeup status`: from the journal, or from facts gathered now.
public enum StatusOptions: Sendable {
    /// What the last runs recorded for `stores` in `state`; connects to nothing.
    case journal(stores: [Store], state: StateDirectory)
    /// Whether each store matches the inventory now (`--live`).
    case live(PlanningOptions)
}

/// One row per selected store. Live, sends `.factsProgress` and `.warnings`; from the journal,
/// throws what reading the state folder throws.
public func runStatus(_ options: StatusOptions, events: @escaping PipelineEvents) async throws -> [StoreStatus] {
    switch options {
    case let .journal(stores, state):
        return StoreStatus.fromJournal(stores, states: try state.storeStates())
    case let .live(planning):
        return StoreStatus.fromPlan(await GatheredPlan.gather(planning, events: events).plan)
    }
}
