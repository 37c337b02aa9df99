/// Replaces the binary of a host whose release differs from the inventory's; the new one runs
/// only after a restart.
struct UpgradeAction: HostAction {
    let kind = ActionKind.upgrade

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard context.installed else { return nil }
        let current = context.facts.k3s.version?.description ?? "an unknown \(context.distribution.name)"
        switch context.desired.mode {
        case let .upload(binary, _):
            guard context.facts.k3s.binarySHA256 != binary.sha256 else { return nil }
            return ActionNeed(
                "\(current) → \(InstallAction.target(context, binary: binary))", restartCause: "new binary")
        case .installer:
            guard let wanted = context.desired.version, context.facts.k3s.version != wanted else { return nil }
            return ActionNeed("\(current) → \(wanted)", restartCause: "new version")
        }
    }

    func perform(on node: HostOperator, tokens: TokenSource) async throws {
        try await node.installBinary()
    }
}
