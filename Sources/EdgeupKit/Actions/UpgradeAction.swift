/// Replaces the binary of a host whose release differs from the inventory's: stops the service
/// and swaps in the staged binary (air gap), or runs the installer (online); the restart that
/// follows starts the new release.
struct UpgradeAction: HostAction {
    let kind = ActionKind.upgrade

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard context.installed else { return nil }
        let current = context.facts.k3s.version?.description ?? "an unknown \(context.distribution.name)"
        let (change, cause): (String, String)
        switch context.desired.mode {
        case let .upload(binary, _):
            guard context.facts.k3s.binarySHA256 != binary.sha256 else { return nil }
            (change, cause) = ("\(current) → \(InstallAction.target(context, binary: binary))", "new binary")
        case .installer:
            guard let wanted = context.desired.version, context.facts.k3s.version != wanted else { return nil }
            (change, cause) = ("\(current) → \(wanted)", "new version")
        }
        guard let upgrade = context.upgrade, upgrade.started else { return ActionNeed(change, restartCause: cause) }
        let snapshot = upgrade.earlierSnapshot.map { ", snapshot \($0)" } ?? ", no edgeup snapshot found"
        return ActionNeed("\(change) (continuing an upgrade begun earlier\(snapshot))", restartCause: cause)
    }

    /// Kubernetes' skew policy allows one minor version at a time, which k3s itself does not
    /// enforce (k3s-io/k3s #6314); a downgrade is refused unless the operator asked for it.
    func refusal(_ context: HostPlanContext) -> PlanProblem? {
        guard let current = context.facts.k3s.version, let target = context.desired.version else { return nil }
        if target < current {
            guard !context.allowDowngrade else { return nil }
            return PlanProblem(
                host: context.host.id, message: "\(current) → \(target) is a downgrade",
                hint: "set k3s.version to \(current) or later, or pass --allow-downgrade after restoring a snapshot of that release")
        }
        guard !current.canUpgrade(to: target) else { return nil }
        let next = "v\(current.major).\(current.minor + 1)"
        let message = target.major == current.major
            ? "v\(current.major).\(current.minor) → v\(target.major).\(target.minor) skips \(next)"
            : "\(current) → \(target) changes the major version"
        return PlanProblem(host: context.host.id, message: message, hint: "upgrade to a \(next) release first")
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        guard case .upload = node.desired.mode else {
            try await node.installBinary()
            return nil
        }
        try await node.swapStagedBinary()
        return nil
    }
}
