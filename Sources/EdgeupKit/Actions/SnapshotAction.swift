/// The rollback point of an upgrade, on the store's first server, before its first restart:
/// embedded etcd through the distribution's own snapshot; SQLite as a copy of the datastore
/// taken while the server is stopped (it stays stopped for the binary swap that follows).
struct SnapshotAction: HostAction {
    let kind = ActionKind.snapshot

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard context.isFirstServer, let upgrade = context.upgrade, !upgrade.started else { return nil }
        let name = upgrade.snapshotStem + "-<run>"
        switch upgrade.datastore {
        case .etcd:
            return ActionNeed("etcd snapshot \(name) before the first restart")
        case .sqlite:
            return ActionNeed("copy of the SQLite datastore to \(context.distribution.files.snapshots)/\(name), taken while k3s is stopped")
        }
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        try await node.takeSnapshot()
    }
}
