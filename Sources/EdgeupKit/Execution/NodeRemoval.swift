import Foundation

/// Takes one host marked `remove: true` out of its store (`remove-node`), through the cluster's
/// first server, in the order k3s documents: the quorum checked again on the live member list, a
/// Ready node cordoned and drained, the Node deleted and its etcd member confirmed gone
/// (`NodeDeletion`; a removed server's k3s stops by itself), then k3s uninstalled on the host if
/// it answers, and the Node deleted once more in case its kubelet registered it again meanwhile.
/// A host that does not answer is left with its k3s, and the step says so: the next plan
/// uninstalls it once it answers.
struct NodeRemoval: Sendable {
    let cluster: HostOperator
    let session: FleetSession
    let journal: RunJournal?
    var drainTimeoutSeconds = 300

    private var step: ProvisioningStep { .action(.removeNode) }

    func remove(_ removal: HostRemoval, from store: Store) async throws -> String {
        let target = StoreHost(store: store, host: removal.host)
        let kubectl = cluster.distribution.kubectl
        if removal.nodeName != nil, removal.etcdMember {
            let listed = try await cluster.privileged(kubectl(["get", "nodes", "-o", "json", "--request-timeout=10s"]), step: step)
            let nodes = FactsProbe.parseNodes(listed.stdout) ?? []
            if let problem = StoreRemovals.quorumProblem(store, removing: [removal], nodes: nodes) {
                throw ProvisioningError(host: target.label, step: step, problem.message + (problem.hint.map { " (\($0))" } ?? ""))
            }
        }
        if let node = removal.nodeName, removal.ready {
            do {
                try await cluster.privileged(
                    kubectl(["drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=\(drainTimeoutSeconds)s"]),
                    step: step, timeout: .seconds(drainTimeoutSeconds + 60))
            } catch {
                // The node stays in the cluster: it must not stay without its capacity.
                _ = try? await cluster.privileged(kubectl(["uncordon", node]), step: step)
                throw error
            }
        }
        if let node = removal.nodeName {
            try await NodeDeletion(cluster: cluster, step: step).delete(node, etcdMember: removal.etcdMember)
        }
        var done = removal.nodeName.map { ["node \($0.shownAsUntrusted)\(removal.etcdMember ? " and its etcd member" : "") deleted"] } ?? []
        let shell = removal.uninstall
            ? try? await RootShell.open(removal.host, in: store, session: session, step: step, journal: journal) : nil
        if let shell {
            try await StoreReset.uninstall(on: shell, files: Distributions.distribution(for: store).files)
            done.append("k3s uninstalled")
            // An agent's kubelet may have registered the Node again before it stopped.
            if let node = removal.nodeName {
                try await NodeDeletion(cluster: cluster, step: step).delete(node, etcdMember: false)
            }
        } else if removal.uninstall {
            done.append("the host did not answer: k3s is still on it (the next apply uninstalls it)")
        }
        return done.joined(separator: "; ")
    }
}
