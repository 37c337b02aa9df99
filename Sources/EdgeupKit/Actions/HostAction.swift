/// One kind of step on a host, told in one place: the facts that make it needed (pure, so the
/// planner's rule is unit-testable) and how apply performs it. Registered in `HostActions.all`.
protocol HostAction: Sendable {
    var kind: ActionKind { get }
    /// Why the host needs this step now, or nil when it does not.
    func need(_ context: HostPlanContext) -> ActionNeed?
    /// Why the step must not run although needed (the store is then blocked, no host touched).
    func refusal(_ context: HostPlanContext) -> PlanProblem?
    /// Performs the step; returns what its event and the store's summary should name, if anything
    /// (a snapshot's file).
    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String?
}

extension HostAction {
    func refusal(_ context: HostPlanContext) -> PlanProblem? { nil }
}

/// What a host action's rule sees when the plan is made.
struct HostPlanContext: Sendable {
    var distribution: any Distribution
    var host: Host
    var store: Store
    var facts: HostFacts
    var desired: HostDesiredState
    /// The store's first server's facts (its tokens, its view of the cluster's nodes).
    var first: HostFacts?
    /// Why the distribution must restart for changes to take effect, from the actions planned before this one.
    var restartCauses: [String] = []
    /// `--allow-downgrade`: the operator accepts moving a host to an older release.
    var allowDowngrade = false
    /// The store's upgrade, when any host of it needs one.
    var upgrade: StoreUpgrade?
    /// `--drain`: how agents are drained before an upgrade restarts them.
    var drain: DrainPolicy?

    var installed: Bool { facts.k3s.installed }
    var isFirstServer: Bool { store.isFirstServer(host) }
}

/// A needed step: the reason the plan shows, and what it changes that the distribution reads only at start.
struct ActionNeed: Sendable {
    var reason: String
    var restartCause: String?
    /// Bytes the action sends to the host from the operator's machine, at most.
    var bytes: Int

    init(_ reason: String, restartCause: String? = nil, bytes: Int = 0) {
        self.reason = reason
        self.restartCause = restartCause
        self.bytes = bytes
    }
}

/// Every host action, in execution order (the order `ActionKind` declares).
enum HostActions {
    static let all: [any HostAction] = [
        ForgetNodeAction(), InstallAction(), StageBinaryAction(), SnapshotAction(), DrainAction(), UpgradeAction(), UploadImagesAction(), WriteScriptsAction(), WriteServiceAction(),
        WriteConfigAction(), WriteRegistriesAction(), WriteTokenAction(), WriteAgentTokenAction(), RenewCertificatesAction(), StartAction(), RestartAction(), UncordonAction(),
    ]

    static func action(_ kind: ActionKind) -> (any HostAction)? {
        all.first { $0.kind == kind }
    }

    /// Why the host's needed actions must not run, if anything forbids them.
    static func refusals(_ context: HostPlanContext) -> [PlanProblem] {
        all.compactMap { action in action.need(context).flatMap { _ in action.refusal(context) } }
    }

    /// The host's actions, each rule seeing the restart causes of those before it.
    static func plan(_ context: HostPlanContext) -> [PlannedAction] {
        var context = context
        var actions: [PlannedAction] = []
        for action in all {
            guard let need = action.need(context) else { continue }
            actions.append(PlannedAction(action.kind, host: context.host.id, reason: need.reason, bytes: need.bytes > 0 ? need.bytes : nil))
            if let cause = need.restartCause { context.restartCauses.append(cause) }
        }
        return actions
    }
}
