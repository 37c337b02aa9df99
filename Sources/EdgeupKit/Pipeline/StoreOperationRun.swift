/// The run around a store operation that needs no plan (backup, reset): a new run folder and its
/// journal, one session for `hosts`, the stores a few at a time under the rollout rules, a
/// clean stop on SIGINT/SIGTERM. `work` does one store; `finish` runs with the result before the
/// run is closed. Sends every `.run` event and `.interrupted`, then `.warnings`.
struct StoreOperationRun {
    var description: String
    var inventory: Inventory
    var stores: [Store]
    var hosts: [StoreHost]
    var connection: ConnectionOptions
    var state: StateDirectory
    var maxConcurrentStores: Int

    typealias Record = @Sendable (RunEvent) -> Void

    func run(
        events: @escaping PipelineEvents,
        work: @escaping @Sendable (Store, _ session: FleetSession, _ journal: RunJournal, _ record: @escaping Record) async -> StoreOutcome,
        finish: (RolloutResult, _ run: String, _ record: Record) async -> Void = { _, _, _ in }
    ) async throws -> (rollout: RolloutResult, run: String, interruptedBy: Int32?) {
        let journal = try RunJournal(state: state)
        let record: Record = { event in
            events(.run(event))
            journal.record(event)
        }
        record(RunEvent(.runStarted, run: journal.run, message: description))
        let session = FleetSession(inventory: inventory, hosts: hosts, connection: connection)
        let byName = Dictionary(uniqueKeysWithValues: stores.map { ($0.name, $0) })
        let (result, interruption) = await Interruption.guarding(notice: { events(.interrupted($0)) }) {
            await Rollout.run(stores.map(\.name), options: RolloutOptions(maxConcurrentStores: maxConcurrentStores)) { name in
                await work(byName[name]!, session, journal, record)
            }
        }
        await finish(result, journal.run, record)
        record(RunEvent(
            .runFinished, run: journal.run, outcome: result.allConverged ? .ok : .failed,
            message: interruption.signalNumber.map { "interrupted by signal \($0)" }))
        await session.close()
        journal.close()
        events(.warnings(session.client.warnings))
        return (result, journal.run, interruption.signalNumber)
    }
}

extension StoreOperationRun {
    /// One store's work as an outcome, between its started and finished events: a thrown
    /// `ProvisioningError` is the failure's message as it stands, any other error is named
    /// `<store>: <verb>: …`.
    static func outcome(
        of store: Store, verb: String, run: String, events: Record, _ body: () async throws -> Void
    ) async -> StoreOutcome {
        events(RunEvent(.storeStarted, run: run, store: store.name))
        let outcome: StoreOutcome
        do {
            try await body()
            outcome = StoreOutcome(store: store.name, result: .converged)
        } catch let error as ProvisioningError {
            outcome = StoreOutcome(store: store.name, result: .failed, message: error.description)
        } catch {
            outcome = StoreOutcome(store: store.name, result: .failed, message: "\(store.name): \(verb): \(error)")
        }
        events(RunEvent(.storeFinished, run: run, store: store.name, outcome: outcome.converged ? .ok : .failed, message: outcome.message))
        return outcome
    }
}
