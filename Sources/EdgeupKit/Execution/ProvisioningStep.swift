/// Which step of a store's run failed, typed so callers (summaries, tests, a later gate) can
/// tell steps apart without reading text. Shown as the names the reports have always used.
public enum ProvisioningStep: Sendable, Hashable, CustomStringConvertible {
    /// The plan's problems, or a check before a host changes (can it reach the cluster?).
    case preflight
    case connect
    case facts
    /// Taking or renewing the store lock.
    case lock
    /// Reading the cluster's tokens from the first server.
    case readToken
    /// Recording on a host that it owes a restart.
    case markRestart
    case readiness
    /// An agent's part of a batch, when it failed outside its own steps.
    case join
    /// `edgeup backup` on a store's first server.
    case backup
    /// `edgeup reset` on a host.
    case reset
    /// `edgeup restore` on a store's servers.
    case restore
    /// One planned action (install, write-config, start, …, fetch-kubeconfig).
    case action(ActionKind)
    /// A playbook unit; nil when the plan named a unit the rendered playbooks lack.
    case playbook(String?)
    /// Waiting for a workload a playbook unit applied to roll out.
    case rollout(unit: String, workload: String)

    public var description: String {
        switch self {
        case .preflight: "preflight"
        case .connect: "connect"
        case .facts: "facts"
        case .lock: "lock"
        case .readToken: "read token"
        case .markRestart: "mark-restart"
        case .readiness: "readiness"
        case .join: "join"
        case .backup: "backup"
        case .reset: "reset"
        case .restore: "restore"
        case let .action(kind): kind.rawValue
        case let .playbook(unit): unit.map { "playbook \($0)" } ?? "playbook"
        case let .rollout(unit, workload): "playbook \(unit): rollout \(workload)"
        }
    }
}
