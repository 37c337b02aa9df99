/// Restarts a running k3s so it reads what changed (k3s reads its binary, config, tokens and
/// service definition only at start), or re-registers a node the cluster lost.
struct RestartAction: HostAction {
    let kind = ActionKind.restart

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard context.facts.k3s.serviceActive else { return nil }
        var causes = context.restartCauses
        if let pending = context.facts.k3s.pendingRestart, context.installed {
            causes.append("a restart an interrupted run left pending (\(pending))")
        }
        if !causes.isEmpty { return ActionNeed("to apply: " + causes.joined(separator: ", ")) }
        let node = context.host.nodeName(context.facts)
        if let nodes = context.first?.k3s.nodes, !nodes.contains(where: { $0.name == node }) {
            return ActionNeed("node '\(node)' is not registered in the cluster")
        }
        return nil
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        try await node.serviceCommand(.restart)
        return nil
    }
}
