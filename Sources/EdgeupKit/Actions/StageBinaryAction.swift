/// Puts an upgrade's binary beside the running one on every host of the store, checked by its
/// SHA-256, before any host restarts: a failed upload leaves the whole store on its old release,
/// and the restart window holds no transfer.
struct StageBinaryAction: HostAction {
    let kind = ActionKind.stageBinary

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard case let .upload(binary, _) = context.desired.mode, UpgradeAction().need(context) != nil else { return nil }
        return ActionNeed(
            "\(InstallAction.target(context, binary: binary)) to \(context.distribution.files.stagedBinary), before any node restarts",
            bytes: binary.size)
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        try await node.stageBinary()
        return nil
    }
}
