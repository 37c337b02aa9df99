/// Gives a joining host the token it joins with: the server token to servers, only the agent
/// token to agents. Its value is read from the first server at apply time, never planned.
struct WriteTokenAction: HostAction {
    let kind = ActionKind.writeToken

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard !context.isFirstServer else { return nil }
        let first = context.first?.k3s
        let wanted = context.host.role == .server ? first?.serverTokenFingerprint : first?.agentJoinTokenFingerprint
        let held = context.facts.k3s.joinTokenFingerprint
        guard wanted == nil || held != wanted else { return nil }
        let reason: String
        if context.host.role == .agent, held != nil, held == first?.serverTokenFingerprint {
            reason = "the agent holds the server token; agents get the agent token"
        } else if wanted == nil {
            reason = "read from the first server once it is up"
        } else {
            reason = held == nil ? "join token missing" : "join token differs from the cluster's"
        }
        return ActionNeed(reason, restartCause: context.installed ? "join token" : nil)
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        let secret = node.target.host.role == .server ? try await cluster.tokens.serverToken() : try await cluster.tokens.agentJoinToken()
        try await node.writeSecret(secret.value + "\n", to: node.files.joinToken, step: .action(.writeToken))
        return nil
    }
}
