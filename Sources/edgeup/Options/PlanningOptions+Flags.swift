import EdgeupKit

extension PlanningOptions {
    /// What plan, apply and status --live plan from: the selected stores, their playbooks rendered
    /// (or every problem printed and exit 2 before any host is touched), the kubeconfig flags and
    /// the timeouts.
    init(
        _ inventory: Inventory, stores: [Store], playbooks: PlaybookOptions, playbooksOnly: Bool = false,
        upgrade: UpgradeOptions? = nil, kubeconfig: KubeconfigOptions, timeouts: TimeoutOptions, concurrency: Int
    ) throws {
        self.init(
            inventory: inventory, stores: stores, playbooks: try playbooks.render(stores, inventoryFiles: inventory.files),
            playbooksOnly: playbooksOnly, allowDowngrade: upgrade?.allowDowngrade ?? false, drain: upgrade?.drainPolicy,
            kubeconfig: kubeconfig.destination(for: inventory),
            connection: timeouts.connection, factsConcurrency: concurrency)
    }
}
