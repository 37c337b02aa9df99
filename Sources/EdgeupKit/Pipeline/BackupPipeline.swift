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
    let journal = try RunJournal(state: options.state)
    let record: @Sendable (RunEvent) -> Void = { event in
        events(.run(event))
        journal.record(event)
    }
    record(RunEvent(.runStarted, run: journal.run, message: "backup of \(options.stores.count) stores to \(options.folder)"))
    let session = FleetSession(
        inventory: options.inventory, hosts: options.stores.compactMap { store in store.firstServer.map { StoreHost(store: store, host: $0) } },
        connection: options.connection)
    let backup = StoreBackup(session: session, run: journal.run, folder: options.folder, journal: journal, events: record)
    let byName = Dictionary(uniqueKeysWithValues: options.stores.map { ($0.name, $0) })
    let (result, interruption) = await Interruption.guarding(notice: { events(.interrupted($0)) }) {
        await Rollout.run(
            options.stores.map(\.name), options: RolloutOptions(maxConcurrentStores: options.maxConcurrentStores)
        ) { name in
            await backup.backup(byName[name]!)
        }
    }
    record(RunEvent(
        .runFinished, run: journal.run, outcome: result.allConverged ? .ok : .failed,
        message: interruption.signalNumber.map { "interrupted by signal \($0)" }))
    await session.close()
    journal.close()
    events(.warnings(session.client.warnings))
    return BackupResult(rollout: result, run: journal.run, folder: options.folder, interruptedBy: interruption.signalNumber)
}
