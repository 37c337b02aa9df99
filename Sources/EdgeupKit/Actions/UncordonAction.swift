/// Makes a node edgeup drained schedulable again, once it is Ready on the new release (the store
/// runner performs it after the readiness gate); also after a run that was killed in between.
/// Nodes the operator cordoned carry no marker and are left alone.
struct UncordonAction: HostAction {
    let kind = ActionKind.uncordon

    func need(_ context: HostPlanContext) -> ActionNeed? {
        if DrainAction().need(context) != nil { return ActionNeed("once Ready on the new release") }
        guard context.facts.k3s.cordonedByEdgeup == true else { return nil }
        return ActionNeed("edgeup cordoned it for an upgrade in a run that did not finish")
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        let step = ProvisioningStep.action(.uncordon)
        try await cluster.first.privileged(cluster.first.distribution.kubectl(["uncordon", node.nodeName]), step: step)
        try await node.privileged(["rm", "-f", node.files.cordonedMarker], step: step)
        return nil
    }
}
