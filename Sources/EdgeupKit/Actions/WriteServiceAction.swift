/// Defines the k3s service (upload mode) and enables it at boot.
struct WriteServiceAction: HostAction {
    let kind = ActionKind.writeService

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard let wanted = context.desired.serviceSHA256 else { return nil }
        let held = context.facts.k3s.serviceFilesSHA256
        if held != wanted {
            return ActionNeed(
                held == nil ? "service not defined" : "service definition differs",
                restartCause: context.installed ? "service definition" : nil)
        }
        return context.facts.k3s.serviceEnabled ? nil : ActionNeed("service not enabled at boot")
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        guard let files = node.desired.service else { return nil }
        let manager = node.serviceManager
        try await node.upload(data: files.unit, to: files.unitPath, mode: manager.unitFileMode, step: .action(.writeService))
        try await node.upload(data: files.environment, to: files.environmentPath, mode: 0o600, step: .action(.writeService))
        for command in manager.enable(node.service) {
            try await node.privileged(command, step: .action(.writeService))
        }
        return nil
    }
}
