/// With `--drain`: cordons and drains an agent before its upgrade restart. A marker on the host,
/// written first, tells a later run that edgeup (not the operator) cordoned the node.
struct DrainAction: HostAction {
    let kind = ActionKind.drain

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard let drain = context.drain, context.host.role == .agent, UpgradeAction().need(context) != nil else { return nil }
        let selector = drain.podSelector.map { ", pods matching \($0)" } ?? ""
        return ActionNeed("cordon and drain before the upgrade restart (timeout \(drain.timeoutSeconds) s\(selector))")
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        guard let drain = node.drain else { return nil }
        let step = ProvisioningStep.action(.drain)
        try await node.upload(data: node.nodeName + "\n", to: node.files.cordonedMarker, mode: 0o600, step: step)
        var arguments = ["drain", node.nodeName, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=\(drain.timeoutSeconds)s"]
        if let selector = drain.podSelector { arguments.append("--pod-selector=\(selector)") }
        do {
            try await cluster.first.privileged(
                cluster.first.distribution.kubectl(arguments), step: step, timeout: .seconds(drain.timeoutSeconds + 60))
        } catch {
            // A drain that could not finish must not leave the node's capacity gone.
            _ = try? await UncordonAction().perform(on: node, cluster: cluster)
            throw error
        }
        return nil
    }
}
