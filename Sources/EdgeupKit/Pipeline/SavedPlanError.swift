/// Why `apply --plan` refuses a saved plan; the cases and exit statuses the CLI has always used.
public enum SavedPlanError: PipelineError, Equatable {
    /// The file is missing or is not a plan (exit 2).
    case unreadable(path: String, reason: String)
    /// Written with another plan schema (exit 2).
    case wrongSchema(path: String, found: Int)
    /// Made from another inventory (exit 1).
    case differentInventory(path: String)
    /// Facts changed since on these stores, or the plan covers other stores (exit 1).
    case staleFacts(path: String, stores: [String])
    /// Playbooks now render differently for these stores (exit 1).
    case playbooksChanged(path: String, stores: [String])

    public var exitCode: Int32 {
        switch self {
        case .unreadable, .wrongSchema: 2
        case .differentInventory, .staleFacts, .playbooksChanged: 1
        }
    }

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            "cannot read the saved plan \(path): \(reason)"
        case let .wrongSchema(path, found):
            "\(path) uses plan schema \(found); this edgeup reads \(Plan.schemaVersion). Plan again."
        case let .differentInventory(path):
            "the saved plan \(path) was made from a different inventory; plan again."
        case let .staleFacts(path, stores):
            "the saved plan \(path) is stale: facts changed on \(Self.list(stores)); plan again."
        case let .playbooksChanged(path, stores):
            "the saved plan \(path) is stale: playbooks rendered differently for \(Self.list(stores)); plan again."
        }
    }

    /// The first ten names, then how many more.
    private static func list(_ stores: [String]) -> String {
        stores.prefix(10).joined(separator: ", ") + (stores.count > 10 ? " and \(stores.count - 10) more" : "")
    }
}
