/// Puts the distribution on a host that has none: the uploaded binary (air gap) or the official installer.
struct InstallAction: HostAction {
    let kind = ActionKind.install

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard !context.installed else { return nil }
        switch context.desired.mode {
        case let .upload(binary, _):
            return ActionNeed("\(Self.target(context, binary: binary)), uploaded (air gap)", bytes: binary.size)
        case let .installer(version, channel, _):
            return ActionNeed("\(version ?? "channel \(channel ?? "stable")") with the \(context.distribution.name) installer")
        }
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        try await node.installBinary()
        return nil
    }

    /// How the plan names the release an uploaded binary brings.
    static func target(_ context: HostPlanContext, binary: LocalArtifact) -> String {
        context.desired.version?.description
            ?? "the \(context.distribution.name) binary \(String(binary.sha256.prefix(12)))"
    }
}
