/// Writes config.yaml (0600), which the distribution reads at start.
struct WriteConfigAction: HostAction {
    let kind = ActionKind.writeConfig

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard context.facts.k3s.configSHA256 != context.desired.config.fingerprint else { return nil }
        return ActionNeed(
            Planner.configDifference(context.facts.k3s.configKeys, context.desired.config.keyFingerprints),
            restartCause: context.installed ? "config.yaml" : nil)
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        try await node.privileged(["mkdir", "-p", node.files.configDirectory], step: .action(.writeConfig))
        try await node.upload(data: node.desired.config.rendered, to: node.files.config, mode: 0o600, step: .action(.writeConfig))
        return nil
    }
}
