/// `edgeup kubeconfig`: fetch each selected store's kubeconfig, then print or write them.
public struct KubeconfigFetchOptions: Sendable {
    public enum Output: Sendable {
        /// All entries as one standalone kubeconfig, returned as text (`--print`).
        case print
        /// Written to `destination`; with `prune`, entries of this fleet for stores the inventory
        /// no longer has are removed.
        case write(KubeconfigDestination, prune: Bool)
    }

    public var inventory: Inventory
    public var stores: [Store]
    /// Scopes which kubeconfig entries this inventory owns (`KubeconfigOwner.fleet`).
    public var fleet: String
    public var output: Output
    /// Stores fetched from at once.
    public var concurrency: Int
    public var connection: ConnectionOptions

    public init(
        inventory: Inventory, stores: [Store], fleet: String, output: Output, concurrency: Int = 50,
        connection: ConnectionOptions
    ) {
        self.inventory = inventory
        self.stores = stores
        self.fleet = fleet
        self.output = output
        self.concurrency = concurrency
        self.connection = connection
    }
}
