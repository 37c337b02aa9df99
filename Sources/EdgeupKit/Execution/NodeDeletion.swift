import EdgeSSH
import Foundation

/// Takes a node out of the cluster as k3s wants it gone: delete the Node (k3s's member controller
/// removes its etcd member before the Node's finalizers let it go), wait until the Node is gone,
/// check the member list, then delete the node-password Secret (k3s deletes it with the Node; a
/// replacement under the same name is refused while it is there). Run on the cluster's first server.
struct NodeDeletion: Sendable {
    let cluster: HostOperator
    let step: ProvisioningStep
    var timeout: Duration = .seconds(180)

    /// Every call is retried until the deadline: removing the member etcd's leader sits on moves
    /// the leadership, and the API answers "unavailable" for a moment.
    func delete(_ name: String, etcdMember: Bool) async throws {
        let kubectl = cluster.distribution.kubectl
        let deadline = ContinuousClock.now + timeout
        try await retrying(kubectl(["delete", "node", name, "--ignore-not-found", "--wait=false"]), until: deadline)
        var seen = "nothing yet"
        while true {
            let result = try await cluster.runPrivileged(
                kubectl(["get", "node", name, "-o", "json", "--ignore-not-found", "--request-timeout=5s"]), step: step, timeout: .seconds(30))
            if result.succeeded, result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                guard etcdMember else { break }
                let members = try await cluster.runPrivileged(kubectl(["get", "--raw", "/db/info"]), step: step, timeout: .seconds(30))
                if members.succeeded {
                    guard let member = Self.member(of: name, in: members.stdout) else { break }
                    seen = "node gone, but etcd still lists its member \(member.shownAsUntrusted)"
                } else {
                    seen = HostOperator.tail(members.stderrText, lines: 1)
                }
            } else {
                seen = Self.seen(result)
            }
            guard ContinuousClock.now < deadline else {
                throw ProvisioningError(
                    host: cluster.label, step: step,
                    "node \(name.shownAsUntrusted)\(etcdMember ? " and its etcd member" : "") not gone \(timeout.components.seconds) s after its deletion"
                        + (etcdMember ? " (etcd refuses to remove a member when the rest would lose quorum)" : ""),
                    lastSeen: seen)
            }
            try await Task.sleep(for: .seconds(2))
        }
        try await retrying(
            kubectl(["delete", "secret", "-n", "kube-system", "\(name).node-password.k3s", "--ignore-not-found"]), until: deadline)
    }

    private func retrying(_ argv: [String], until deadline: ContinuousClock.Instant) async throws {
        while true {
            let result = try await cluster.runPrivileged(argv, step: step, timeout: .seconds(60))
            if result.succeeded { return }
            guard ContinuousClock.now < deadline else {
                throw ProvisioningError(host: cluster.label, step: step, HostOperator.tail(result.stderrText, lines: 3))
            }
            try await Task.sleep(for: .seconds(2))
        }
    }

    /// The etcd member k3s named for the node (`<node>-<8 hex>`) in /db/info's answer, if any.
    static func member(of node: String, in info: Data) -> String? {
        let root = try? JSONSerialization.jsonObject(with: info) as? [String: Any]
        let names = (root?["members"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        return names.first { name in
            let suffix = name.dropFirst(node.count + 1)
            return name.hasPrefix(node + "-") && suffix.count == 8 && suffix.allSatisfy(\.isHexDigit)
        }
    }

    /// What the Node looked like: terminating (and on which finalizers), or kubectl's error.
    private static func seen(_ result: CommandResult) -> String {
        guard result.succeeded,
            let object = try? JSONSerialization.jsonObject(with: result.stdout) as? [String: Any],
            let metadata = object["metadata"] as? [String: Any]
        else { return HostOperator.tail(result.stderrText, lines: 1) }
        let finalizers = (metadata["finalizers"] as? [String] ?? []).joined(separator: ", ")
        return metadata["deletionTimestamp"] == nil ? "not deleted" : "terminating, finalizers: \(finalizers.shownAsUntrusted)"
    }
}
