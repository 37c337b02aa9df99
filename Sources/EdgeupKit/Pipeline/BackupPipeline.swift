import Foundation

/// `edgeup backup`: which stores, and where their backups go (`DIR/<store>/<run>/`).
public struct BackupOptions: Sendable {
    public var inventory: Inventory
    public var stores: [Store]
    public var folder: String
    public var connection: ConnectionOptions
    public var state: StateDirectory
    public var maxConcurrentStores: Int

    public init(
        inventory: Inventory, stores: [Store], folder: String, connection: ConnectionOptions, state: StateDirectory,
        maxConcurrentStores: Int = 4
    ) {
        self.inventory = inventory
        self.stores = stores
        self.folder = folder
        self.connection = connection
        self.state = state
        self.maxConcurrentStores = maxConcurrentStores
    }
}

public enum BackupError: PipelineError, Equatable {
    case noStoreMatches
    case folder(String)

    public var exitCode: Int32 { 1 }

    public var description: String {
        switch self {
        case .noStoreMatches: "no store matches the selection"
        case let .folder(why): why
        }
    }
}

public struct BackupResult: Sendable {
    public var rollout: RolloutResult
    public var run: String
    public var folder: String
    public var interruptedBy: Int32?

    /// Where each backed-up store's files are.
    public var folders: [(store: String, path: String)] {
        rollout.outcomes.filter(\.converged).map(\.store).sorted().map { ($0, "\(folder)/\($0)/\(run)") }
    }

    public var exitCode: Int32 {
        if let interruptedBy { return 128 + interruptedBy }
        return rollout.allConverged ? 0 : 1
    }
}

/// Backs every selected store up, a few at a time, journaled in a new run folder; each store's
/// files land in `folder/<store>/<run>/` with its `manifest.json`, so backups never overwrite
/// each other. Sends every `.run` event and `.interrupted`, then `.warnings`.
public func runBackup(_ options: BackupOptions, events: @escaping PipelineEvents) async throws -> BackupResult {
    guard !options.stores.isEmpty else { throw BackupError.noStoreMatches }
    do {
        try PrivateFile.createFolders(options.folder)
    } catch {
        throw BackupError.folder("cannot create the backup folder: \(error)")
    }
    let operation = StoreOperationRun(
        description: "backup of \(options.stores.count) stores to \(options.folder)", inventory: options.inventory,
        stores: options.stores, hosts: options.stores.compactMap { store in store.firstServer.map { StoreHost(store: store, host: $0) } },
        connection: options.connection, state: options.state, maxConcurrentStores: options.maxConcurrentStores)
    let folder = options.folder
    let (result, run, interruptedBy) = try await operation.run(events: events) { store, session, journal, record in
        await StoreBackup(session: session, run: journal.run, folder: folder, journal: journal, events: record).backup(store)
    }
    return BackupResult(rollout: result, run: run, folder: folder, interruptedBy: interruptedBy)
}
