/// Keeps the agent token's secret (named by `agent-token-file`) on every server: generated on the
/// first server, copied from it to the others.
struct WriteAgentTokenAction: HostAction {
    let kind = ActionKind.writeAgentToken

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard context.host.role == .server else { return nil }
        let secret = context.facts.k3s.agentTokenFingerprint
        let cause = context.installed ? "agent token" : nil
        if context.isFirstServer {
            return secret == nil ? ActionNeed("no agent token yet: edgeup generates one", restartCause: cause) : nil
        }
        guard secret == nil || secret != context.first?.k3s.agentTokenFingerprint else { return nil }
        return ActionNeed(
            secret == nil ? "agent token missing: copied from the first server" : "agent token differs from the first server's",
            restartCause: cause)
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        let host = node.target.host
        let secret = try await cluster.tokens.agentSecret(generateOn: node.store.isFirstServer(host) ? host.name : nil)
        try await node.writeSecret(secret.value + "\n", to: node.files.agentToken, step: .action(.writeAgentToken))
        return nil
    }
}
