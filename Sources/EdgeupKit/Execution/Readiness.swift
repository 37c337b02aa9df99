import Foundation

/// Waits for a node in the order k3s becomes usable: service active → API ready on the node
/// (servers) → node Ready in the cluster (HA servers: with the etcd role). Fails honestly on
/// timeout: which stage, what was last seen, and the tail of the service log.
struct Readiness: Sendable {
    var timeout: Duration
    var interval: Duration = .seconds(2)

    /// `kubeletVersion`: after an upgrade, the node must report the target's version.
    func wait(
        for node: HostOperator, nodeName: String, cluster: HostOperator, requireEtcd: Bool, kubeletVersion: String? = nil
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        try await poll("the \(node.service) service to be active", on: node, deadline: deadline) {
            let result = try await node.runPrivileged(
                node.serviceManager.isActive(node.service), step: .readiness, timeout: .seconds(20))
            return (result.succeeded, result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        if node.target.host.role == .server {
            try await poll("the API to answer /readyz on the node", on: node, deadline: deadline) {
                let result = try await node.runPrivileged(
                    node.distribution.kubectl(["get", "--raw", "/readyz", "--request-timeout=5s"]), step: .readiness,
                    timeout: .seconds(20))
                let text = (result.stdoutText + result.stderrText).trimmingCharacters(in: .whitespacesAndNewlines)
                return (result.succeeded && text == "ok", text)
            }
        }
        let what = "node \(nodeName) to be Ready\(kubeletVersion.map { " on \($0)" } ?? "")\(requireEtcd ? " as an etcd member" : "")"
        try await poll(what, on: node, deadline: deadline) {
            let result = try await cluster.runPrivileged(
                cluster.distribution.kubectl(["get", "node", nodeName, "-o", "json", "--request-timeout=5s"]), step: .readiness,
                timeout: .seconds(20))
            guard result.succeeded,
                let object = try? JSONSerialization.jsonObject(with: result.stdout) as? [String: Any],
                let facts = NodeFacts(kubernetesObject: object)
            else {
                return (false, HostOperator.tail(result.stderrText, lines: 1))
            }
            // EtcdIsVoter is absent before k3s v1.25.16/1.26.11/1.27.8/1.28.4: then the etcd role must do.
            let ready = facts.ready && (!requireEtcd || (facts.roles.contains("etcd") && facts.etcdVoter != false))
                && (kubeletVersion == nil || facts.kubeletVersion == kubeletVersion)
            let voter = facts.etcdVoter.map { ", EtcdIsVoter=\($0 ? "True" : "False")" } ?? ""
            let version = (facts.kubeletVersion?.shownAsUntrusted).map { ", kubelet \($0)" } ?? ""
            return (ready, "\(facts.ready ? "Ready" : "NotReady")\(version), roles: \(facts.roles.joined(separator: ",").nilIfEmpty ?? "<none>")\(voter)")
        }
    }

    /// The default ServiceAccount exists once the controllers run: the moment manifests may be applied.
    func waitForDefaultServiceAccount(_ cluster: HostOperator) async throws {
        try await poll("the default ServiceAccount", on: cluster, deadline: ContinuousClock.now + timeout) {
            let result = try await cluster.runPrivileged(
                cluster.distribution.kubectl(["get", "serviceaccount", "default", "-n", "default", "-o", "name", "--request-timeout=5s"]),
                step: .readiness, timeout: .seconds(20))
            return (result.succeeded, HostOperator.tail(result.stdoutText + result.stderrText, lines: 1))
        }
    }

    private func poll(
        _ what: String, on node: HostOperator, deadline: ContinuousClock.Instant,
        _ check: () async throws -> (done: Bool, seen: String)
    ) async throws {
        var lastSeen = "nothing yet"
        while true {
            let (done, seen) = try await check()
            if done { return }
            lastSeen = seen.isEmpty ? lastSeen : seen
            if ContinuousClock.now >= deadline {
                throw ProvisioningError(
                    host: node.label, step: .readiness,
                    "timed out after \(timeout.components.seconds) s waiting for \(what)", lastSeen: lastSeen,
                    logTail: await node.serviceLogTail())
            }
            try await Task.sleep(for: interval)
        }
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
