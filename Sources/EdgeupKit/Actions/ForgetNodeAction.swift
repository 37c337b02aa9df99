/// A host whose machine was replaced under the same name and address: the cluster still has the
/// old machine's Node, its node-password Secret (k3s refuses the new machine with "Node password
/// rejected") and, for a server, its etcd member. They go before the new machine joins.
///
/// Replaced means: the cluster has a Node of the host's name but the host has no k3s, or the
/// Node's machine-id is not the host's while k3s is not running there.
struct ForgetNodeAction: HostAction {
    let kind = ActionKind.forgetNode

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard let stale = staleNode(context) else { return nil }
        let why = context.installed ? "its machine-id is not the one node \(stale.name.shownAsUntrusted) last ran on" : "it has no k3s"
        let member = stale.isEtcdMember ? ", its etcd member" : ""
        return ActionNeed(
            "the machine was replaced (\(why)): delete the old node \(stale.name.shownAsUntrusted)\(member) and its node-password Secret before it joins")
    }

    private func staleNode(_ context: HostPlanContext) -> NodeFacts? {
        let facts = context.facts
        guard !facts.k3s.serviceActive,
            let node = context.first?.k3s.nodes?.first(where: { $0.name == context.host.nodeName(facts) })
        else { return nil }
        if !context.installed { return node }
        guard let seen = node.machineID, let machine = facts.machineID, seen != machine else { return nil }
        return node
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        let etcdMember = node.store.datastore == .etcd && node.target.host.role == .server
        try await NodeDeletion(cluster: cluster.first, step: .action(.forgetNode)).delete(node.nodeName, etcdMember: etcdMember)
        return nil
    }
}
