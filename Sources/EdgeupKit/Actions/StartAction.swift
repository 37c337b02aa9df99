/// Starts k3s where its service is not running: forming the cluster on the first server, joining
/// it everywhere else.
struct StartAction: HostAction {
    let kind = ActionKind.start

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard !context.facts.k3s.serviceActive else { return nil }
        if context.installed { return ActionNeed("service is not running") }
        if context.isFirstServer {
            return ActionNeed(context.store.datastore == .etcd ? "initialise the cluster (embedded etcd)" : "start the cluster (SQLite)")
        }
        return ActionNeed(context.host.role == .server ? "join as a server" : "join as an agent")
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        try await node.serviceCommand(.start)
        return nil
    }
}
