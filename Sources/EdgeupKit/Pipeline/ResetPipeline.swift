import Foundation

/// `edgeup reset`: which stores to tear down and where their kubeconfig entries are.
public struct ResetOptions: Sendable {
    public var inventory: Inventory
    /// The selected stores (the CLI insists on an explicit selection and a confirmation).
    public var stores: [Store]
    public var kubeconfig: KubeconfigDestination
    public var connection: ConnectionOptions
    public var state: StateDirectory
    public var maxConcurrentStores: Int

    public init(
        inventory: Inventory, stores: [Store], kubeconfig: KubeconfigDestination, connection: ConnectionOptions,
        state: StateDirectory, maxConcurrentStores: Int = 20
    ) {
        self.inventory = inventory
        self.stores = stores
        self.kubeconfig = kubeconfig
        self.connection = connection
        self.state = state
        self.maxConcurrentStores = maxConcurrentStores
    }
}

public enum ResetError: PipelineError, Equatable {
    case noStoreMatches
    /// Stores with `protected: true`, with where it is set: nothing was touched.
    case protected([String])

    public var exitCode: Int32 { self == .noStoreMatches ? 1 : 2 }

    public var description: String {
        switch self {
        case .noStoreMatches: "no store matches the selection"
        case let .protected(stores):
            "refusing to reset protected store\(stores.count == 1 ? "" : "s") (protected: true in the inventory): "
                + stores.joined(separator: ", ") + "; nothing was touched"
        }
    }
}

public struct ResetResult: Sendable {
    public var rollout: RolloutResult
    public var run: String
    /// Contexts removed from the kubeconfig (only entries edgeup wrote for the reset stores).
    public var removedContexts: [String]
    public var interruptedBy: Int32?

    public var exitCode: Int32 {
        if let interruptedBy { return 128 + interruptedBy }
        return rollout.allConverged ? 0 : 1
    }
}

/// What the operator must type to confirm a destructive command (reset, restore) on a terminal:
/// the store's name for one store, the number of stores for several.
public enum StoreConfirmation {
    /// `doing` says what happens ("uninstalls k3s and deletes the cluster data on every host of").
    public static func prompt(
        for stores: [Store], doing: String = "uninstalls k3s and deletes the cluster data on every host of"
    ) -> String {
        let names = stores.prefix(10).map(\.name).joined(separator: ", ") + (stores.count > 10 ? ", … +\(stores.count - 10)" : "")
        let answer = stores.count == 1 ? "its name" : "the number of stores (\(stores.count))"
        return "This \(doing) \(stores.count) store\(stores.count == 1 ? "" : "s"): \(names).\nType \(answer) to confirm: "
    }

    public static func accepts(_ typed: String, for stores: [Store]) -> Bool {
        let answer = typed.trimmingCharacters(in: .whitespacesAndNewlines)
        return stores.count == 1 ? answer == stores[0].name : answer == String(stores.count)
    }
}

/// Resets every selected store (agents first, then servers, first server last), journaled in a
/// new run folder, then removes the reset stores' kubeconfig entries that edgeup wrote. Refuses
/// before touching any host when a selected store is protected. Sends every `.run` event and
/// `.interrupted`, then `.warnings`.
public func runReset(_ options: ResetOptions, events: @escaping PipelineEvents) async throws -> ResetResult {
    guard !options.stores.isEmpty else { throw ResetError.noStoreMatches }
    let protected = options.stores.filter(\.isProtected)
    guard protected.isEmpty else {
        throw ResetError.protected(protected.map { store in store.name + (store.location.map { " (\($0))" } ?? "") })
    }
    let operation = StoreOperationRun(
        description: "reset of \(options.stores.count) stores", inventory: options.inventory, stores: options.stores,
        hosts: StoreHost.all(in: options.stores), connection: options.connection, state: options.state,
        maxConcurrentStores: options.maxConcurrentStores)
    let removed = RemovedContexts()
    let (result, run, interruptedBy) = try await operation.run(events: events) { store, session, journal, record in
        await StoreReset(session: session, run: journal.run, journal: journal, events: record).reset(store)
    } finish: { result, run, record in
        let done = Set(result.outcomes.filter(\.converged).map(\.store))
        guard case let .merge(file, fleet, _) = options.kubeconfig, !done.isEmpty else { return }
        let names = options.stores.filter { done.contains($0.name) }.map {
            StoreKubeconfigName(context: $0.context, owner: KubeconfigOwner(fleet: fleet, store: $0.name))
        }
        do {
            removed.contexts = try await file.remove(names).removed
        } catch {
            record(RunEvent(.warning, run: run, message: "kubeconfig entries not removed: \(error)"))
        }
    }
    return ResetResult(rollout: result, run: run, removedContexts: removed.contexts, interruptedBy: interruptedBy)
}

/// The contexts the reset's `finish` removed.
private final class RemovedContexts {
    var contexts: [String] = []
}
