/// Why `edgeup proxy` or `edgeup kubectl` cannot start, as the CLI shows it (exit 1).
public enum AccessError: PipelineError, Equatable {
    case unknownStore(String, suggestion: String?)
    case noServer(store: String)
    /// The listening address (`--listen` or `EDGEUP_PROXY`) is unusable or taken.
    case listen(String)
    /// A store could not be reached to fetch its kubeconfig: the host, the step and which hop.
    case remote(String)
    case kubectlNotFound
    /// kubectl could not be started, or its kubeconfig not prepared.
    case localProcess(String)

    public var exitCode: Int32 { 1 }

    public var description: String {
        switch self {
        case let .unknownStore(name, suggestion):
            "no store named '\(name)' in the inventory" + (suggestion.map { " (\($0))" } ?? "")
        case let .noServer(store): "store '\(store)' has no server: there is no API to reach"
        case let .listen(message), let .remote(message), let .localProcess(message): message
        case .kubectlNotFound: "kubectl is not in PATH (Debian: apt install kubernetes-client)"
        }
    }

    /// The store of that name, or `unknownStore` with the closest name.
    static func store(named name: String, in inventory: Inventory) throws(AccessError) -> Store {
        guard let store = inventory.store(named: name) else {
            throw .unknownStore(name, suggestion: Suggestions.didYouMean(name, in: inventory.stores.map(\.name)))
        }
        guard store.firstServer != nil else { throw .noServer(store: name) }
        return store
    }
}
