/// A host marked `remove: true` as the plan found it: the node it is in the cluster (if it still
/// is) and whether edgeup can log in to clean it.
public struct HostRemoval: Sendable, Hashable {
    public var host: Host
    /// The node's name; nil when the cluster has no node for the host (only its k3s is left).
    public var nodeName: String?
    /// Whether the node is an etcd member (its Node's deletion removes the member).
    public var etcdMember: Bool
    /// Whether the node was Ready when planned (a NotReady node is not drained: nothing runs there).
    public var ready: Bool
    /// The host answered and has k3s: apply stops and uninstalls it.
    public var uninstall: Bool
}

/// The removal part of a store's plan: one `remove-node` per host still in the cluster or still
/// running k3s, the dead nodes first, and the refusals that keep etcd's quorum.
struct StoreRemovals: Sendable {
    var actions: [PlannedAction] = []
    var removals: [HostID: HostRemoval] = [:]
    var problems: [PlanProblem] = []

    init() {}

    init(_ store: Store, observations: [HostID: HostObservation], first: HostFacts?) {
        guard !store.removing.isEmpty else { return }
        let nodes = first?.k3s.nodes
        if nodes == nil, first?.k3s.installed == true, let server = store.firstServer {
            problems.append(PlanProblem(
                host: server.id, message: "cannot see the cluster's nodes, so hosts marked remove cannot be taken out",
                hint: "the first server's API must answer: check \(server.name)'s k3s service"))
            return
        }
        var found: [HostRemoval] = []
        for host in store.removing {
            let facts = observations[host.id]?.facts
            let name = host.nodeName ?? facts?.hostname.lowercased() ?? nodes?.first { $0.internalIP == host.address }?.name
            let node = nodes?.first { $0.name == name }
            let uninstall = facts?.k3s.installed == true
            guard node != nil || uninstall else { continue }
            found.append(HostRemoval(
                host: host, nodeName: node?.name, etcdMember: node?.isEtcdMember == true, ready: node?.ready == true,
                uninstall: uninstall))
        }
        if store.datastore == .etcd, let problem = Self.quorumProblem(store, removing: found, nodes: nodes ?? []) {
            problems.append(problem)
            return
        }
        // Dead members first: taking one out never costs a live vote.
        for removal in found.filter({ !$0.ready }) + found.filter(\.ready) {
            removals[removal.host.id] = removal
            actions.append(PlannedAction(.removeNode, host: removal.host.id, reason: Self.reason(removal)))
        }
    }

    private static func reason(_ removal: HostRemoval) -> String {
        guard let node = removal.nodeName else { return "remove: true; its node is gone from the cluster, k3s is uninstalled" }
        let steps = [
            removal.ready ? "cordon and drain" : nil,
            "delete node \(node.shownAsUntrusted)" + (removal.etcdMember ? " and its etcd member" : ""),
            removal.uninstall ? "uninstall k3s" : "(the host does not answer: nothing to uninstall)",
            "delete its node-password Secret",
        ]
        return "remove: true; " + steps.compactMap { $0 }.joined(separator: ", ")
    }

    /// etcd removes a member only if the members left still have a quorum of started ones
    /// (etcd's mayRemoveMember); k3s leaves the Node terminating while etcd refuses.
    static func quorumProblem(_ store: Store, removing: [HostRemoval], nodes: [NodeFacts]) -> PlanProblem? {
        let leaving = Set(removing.filter(\.etcdMember).compactMap(\.nodeName))
        guard !leaving.isEmpty else { return nil }
        let remaining = nodes.filter { $0.isEtcdMember && !leaving.contains($0.name) }
        let live = remaining.filter(\.isLiveEtcdMember)
        let quorum = remaining.count / 2 + 1
        let names = leaving.sorted().map(\.shownAsUntrusted).joined(separator: ", ")
        guard remaining.isEmpty || live.count < quorum else { return nil }
        let host = store.removing.first { leaving.contains($0.nodeName ?? "") }?.id ?? store.firstServer?.id
        if remaining.isEmpty {
            return PlanProblem(
                host: host, message: "refusing to remove \(names): no etcd member would be left",
                hint: "a store keeps at least one server; use edgeup reset to tear the store down")
        }
        let down = remaining.filter { !$0.isLiveEtcdMember }.map(\.name.shownAsUntrusted).sorted().joined(separator: ", ")
        return PlanProblem(
            host: host,
            message: "refusing to remove \(names): etcd would keep \(remaining.count) members of which \(live.count) answer"
                + " (\(down) not), below its quorum of \(quorum)",
            hint: "bring \(down) back first, or mark it remove: true too (dead members go first)")
    }
}
