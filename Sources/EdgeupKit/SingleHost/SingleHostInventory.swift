/// The one-store inventory `install` or `join` builds from its flags, and which of its hosts the
/// command is about.
public struct SingleHostInventory: Sendable {
    public var loaded: InventoryLoadResult
    /// The machine `join` adds, by its host name in the inventory: the only host the join works on
    /// (it never reconfigures the server). Nil for `install`, which works on the whole store.
    public var joiner: String?

    public init(loaded: InventoryLoadResult, joiner: String? = nil) {
        self.loaded = loaded
        self.joiner = joiner
    }

    public var inventory: Inventory? { loaded.inventory }
    public var diagnostics: [Diagnostic] { loaded.diagnostics }
    public var errors: [Diagnostic] { loaded.errors }

    /// The inventory, or a `DiagnosticsError` carrying every problem.
    public func get() throws(DiagnosticsError) -> Inventory {
        try loaded.get()
    }
}
