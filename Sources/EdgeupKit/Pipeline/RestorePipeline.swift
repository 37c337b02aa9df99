import Foundation

/// `edgeup restore`: one store, from one of its backups.
public struct RestoreOptions: Sendable {
    public var inventory: Inventory
    public var store: Store
    /// A backup folder (`DIR/<store>/<run>`), or the folder backups went to (then the store's newest).
    public var from: String
    public var connection: ConnectionOptions
    public var state: StateDirectory

    public init(inventory: Inventory, store: Store, from: String, connection: ConnectionOptions, state: StateDirectory) {
        self.inventory = inventory
        self.store = store
        self.from = from
        self.connection = connection
        self.state = state
    }

    /// The backup folder `from` names for the store, nil when it names none. Run names sort by time.
    public var backupFolder: String? {
        let manager = FileManager.default
        if manager.fileExists(atPath: from + "/manifest.json") { return from }
        let runs = (try? manager.contentsOfDirectory(atPath: from + "/" + store.name)) ?? []
        return runs.filter { manager.fileExists(atPath: "\(from)/\(store.name)/\($0)/manifest.json") }.max()
            .map { "\(from)/\(store.name)/\($0)" }
    }
}

public enum RestoreError: PipelineError, Equatable {
    case noBackup(String)

    public var exitCode: Int32 { 1 }
    public var description: String {
        switch self {
        case let .noBackup(from): "no backup in \(from) (a folder with manifest.json, or one that holds <store>/<run>/manifest.json)"
        }
    }
}

public struct RestoreResult: Sendable {
    public var outcome: StoreOutcome
    public var run: String
    /// The backup folder that was put back.
    public var folder: String
    public var interruptedBy: Int32?

    public var exitCode: Int32 {
        if let interruptedBy { return 128 + interruptedBy }
        return outcome.converged ? 0 : 1
    }
}

/// Restores the store, journaled in a new run folder. Sends every `.run` event and
/// `.interrupted`, then `.warnings`.
public func runRestore(_ options: RestoreOptions, events: @escaping PipelineEvents) async throws -> RestoreResult {
    guard let folder = options.backupFolder else { throw RestoreError.noBackup(options.from) }
    let store = options.store
    let operation = StoreOperationRun(
        description: "restore of \(store.name) from \(folder)", inventory: options.inventory, stores: [store],
        hosts: store.servers.map { StoreHost(store: store, host: $0) }, connection: options.connection, state: options.state,
        maxConcurrentStores: 1)
    let (result, run, interruptedBy) = try await operation.run(events: events) { store, session, journal, record in
        await StoreRestore(session: session, run: journal.run, journal: journal, events: record).restore(store, from: folder)
    }
    let outcome = result.outcomes.first ?? StoreOutcome(store: store.name, result: .failed, message: "\(store.name): restore did not start")
    return RestoreResult(outcome: outcome, run: run, folder: folder, interruptedBy: interruptedBy)
}
