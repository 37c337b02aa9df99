/// Writes the killall and uninstall scripts (upload mode; the installer writes its own).
struct WriteScriptsAction: HostAction {
    let kind = ActionKind.writeScripts

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard let wanted = context.desired.scriptsSHA256, context.facts.k3s.scriptsSHA256 != wanted else { return nil }
        return ActionNeed(context.facts.k3s.scriptsSHA256 == nil ? "killall/uninstall scripts missing" : "killall/uninstall scripts differ")
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        guard let scripts = node.desired.scripts else { return nil }
        try await node.upload(data: scripts.killall, to: node.files.killallScript, mode: 0o755, step: .action(.writeScripts))
        try await node.upload(
            data: scripts.uninstall, to: node.files.uninstallScript(for: node.target.host.role), mode: 0o755,
            step: .action(.writeScripts))
        return nil
    }
}
