import ArgumentParser
import EdgeupKit
import Foundation

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Converge every selected store to the inventory: install, join, configure, apply playbooks, fetch kubeconfigs.",
        discussion: """
            Plans from fresh facts, then executes: stores in parallel (bounded), and inside each \
            store the order k3s needs: first server, other servers one at a time, agents in \
            batches, then the store's playbooks, then the kubeconfig. Exit 0 only if every \
            selected store converged. Playbooks are rendered for every selected store before any \
            host is touched; only units whose content differs from what the hosts recorded are \
            applied. --playbooks-only leaves k3s alone and re-applies drifted playbooks.

            With --plan, applies a plan saved by 'edgeup plan --out', refusing it if the \
            inventory or any store's facts changed since.

            Examples:
              edgeup apply inventories/coffee-shops.yaml --canary 2 --max-failed-stores 3
              edgeup apply inventories/coffee-shops.yaml --shard 2/4 --report-junit edgeup.xml
            """
    )

    @OptionGroup var inventory: InventoryArguments
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var kubeconfig: KubeconfigOptions
    @OptionGroup var playbooks: PlaybookOptions
    @OptionGroup var timeouts: TimeoutOptions

    @Flag(name: .customLong("playbooks-only"), help: "Re-apply playbooks to stores whose cluster runs; leave k3s as it is.")
    var playbooksOnly = false

    @Option(name: .long, help: ArgumentHelp("Apply this saved plan (from plan --out) instead of planning anew.", valueName: "path"))
    var plan: String?

    @Option(name: .long, help: "Converge this many stores first; if any fails, start no others.")
    var canary = 0

    @Option(name: .customLong("batch-size"), help: "After the canary, start stores in batches of this size, each finishing before the next.")
    var batchSize: Int?

    @Option(name: .customLong("max-concurrent-stores"), help: "Stores converging at once.")
    var maxConcurrentStores = 50

    @Option(name: .customLong("max-failed-stores"), help: "Failed stores tolerated before no new store starts.")
    var maxFailedStores: Int?

    @Option(name: .long, help: "Hosts to gather facts from at once.")
    var concurrency = 100

    @Option(name: .customLong("agent-batch-size"), help: "Agents of one store joined at once.")
    var agentBatchSize = 10

    @Option(name: .customLong("readiness-timeout"), help: "Seconds a node may take to become Ready.")
    var readinessTimeout = 180

    @Option(name: .customLong("report-junit"), help: ArgumentHelp("Write a JUnit report (one test case per store) here.", valueName: "path"))
    var reportJUnit: String?

    func run() async throws {
        let inventory = try inventory.load()
        let stores = selection.selection().apply(to: inventory)
        let hosts = stores.flatMap { store in store.hosts.map { StoreHost(store: store, host: $0) } }
        let rendered = try playbooks.render(stores, inventoryFiles: inventory.files)
        let session = FleetSession(inventory: inventory, hosts: hosts, timeouts: timeouts)
        let work = try await gatherPlan(
            inventory, stores: stores, kubeconfig: kubeconfig, concurrency: concurrency, playbooks: rendered,
            playbooksOnly: playbooksOnly, session: session)
        let fresh = work.plan
        if let plan {
            try checkSavedPlan(plan, against: fresh)
        }
        let mode: RunReporter.Mode = output.output == .json ? .json : (stderrStyle.colors ? .live : .plain)
        let reporter = RunReporter(mode: mode, style: stderrStyle, total: fresh.stores.count) { text in
            (mode == .json ? FileHandle.standardOutput : FileHandle.standardError).write(Data(text.utf8))
        }
        if mode != .json { printError(PlanText(style: stderrStyle).render(fresh)) }
        let journal = try RunJournal(state: StateDirectory.standard(
            environment: ProcessInfo.processInfo.environment, home: NSHomeDirectory()))
        let timing = StoreTiming()
        let events: @Sendable (RunEvent) -> Void = { event in
            timing.record(event)
            reporter.handle(event)
            journal.record(event)
        }
        events(RunEvent(.runStarted, run: journal.run, message: "\(fresh.stores.count) stores"))
        let runner = FleetRunner(
            session: session, factsConcurrency: concurrency,
            provisioning: ProvisioningOptions(
                agentBatchSize: agentBatchSize, readinessTimeout: .seconds(readinessTimeout),
                kubeconfig: kubeconfig.destination(for: inventory)),
            rollout: RolloutOptions(
                canary: canary, batchSize: batchSize, maxConcurrentStores: maxConcurrentStores,
                maxFailedStores: maxFailedStores))
        let (result, interruption) = await Interruption.guarding(notice: { printError("edgeup: \($0)") }) {
            await runner.apply(work, run: journal.run, journal: journal, events: events)
        }
        events(RunEvent(
            .runFinished, run: journal.run, outcome: result.allConverged ? .ok : .failed,
            message: interruption.signalNumber.map { "interrupted by signal \($0)" }))
        reporter.finish()
        await session.close()
        journal.close()
        let summary = ApplySummary(result: result, style: stderrStyle)
        if mode != .json { printError(summary.text + stderrStyle.dim("run \(journal.run): \(journal.state.runFolder(journal.run))")) }
        if let reportJUnit {
            // Remote output (failure messages, log tails): private, like the journal.
            try PrivateFile.write(Array(summary.junit(name: "edgeup apply", seconds: timing.seconds).xml.utf8), to: reportJUnit)
        }
        if let status = interruption.exitStatus { throw ExitCode(status) }
        if !result.allConverged { throw ExitCode.failure }
    }

    /// A saved plan applies only to the inventory and facts it was made from.
    private func checkSavedPlan(_ path: String, against fresh: Plan) throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let saved: Plan
        do {
            saved = try decoder.decode(Plan.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            printError("edgeup: cannot read the saved plan \(path): \(error.localizedDescription)")
            throw ExitCode(2)
        }
        guard saved.schemaVersion == Plan.schemaVersion else {
            printError("edgeup: \(path) uses plan schema \(saved.schemaVersion); this edgeup reads \(Plan.schemaVersion). Plan again.")
            throw ExitCode(2)
        }
        guard saved.inventoryFingerprint == fresh.inventoryFingerprint else {
            printError("edgeup: the saved plan \(path) was made from a different inventory; plan again.")
            throw ExitCode.failure
        }
        let now = Dictionary(uniqueKeysWithValues: fresh.stores.map { ($0.store, $0) })
        let stale = saved.stores.filter { now[$0.store]?.factsFingerprint != $0.factsFingerprint }.map(\.store.name)
        guard stale.isEmpty, saved.stores.count == fresh.stores.count else {
            printError("edgeup: the saved plan \(path) is stale: facts changed on \(stale.prefix(10).joined(separator: ", "))\(stale.count > 10 ? " and \(stale.count - 10) more" : ""); plan again.")
            throw ExitCode.failure
        }
        func units(_ plan: StorePlan?) -> [String] {
            (plan?.actions ?? []).compactMap { action in action.unit.map { "\(action.host ?? "") \($0.id) \($0.sha256)" } }.sorted()
        }
        let changed = saved.stores.filter { units($0) != units(now[$0.store]) }.map(\.store.name)
        guard changed.isEmpty else {
            printError("edgeup: the saved plan \(path) is stale: playbooks rendered differently for \(changed.prefix(10).joined(separator: ", "))\(changed.count > 10 ? " and \(changed.count - 10) more" : ""); plan again.")
            throw ExitCode.failure
        }
    }
}

/// Seconds each store took, from its start and finish events (for the JUnit report).
final class StoreTiming: @unchecked Sendable {
    private let lock = NSLock()
    private var started: [String: Date] = [:]
    private var durations: [String: Double] = [:]

    func record(_ event: RunEvent) {
        guard let store = event.store else { return }
        lock.withLock {
            switch event.kind {
            case .storeStarted: started[store] = event.time
            case .storeFinished: durations[store] = started[store].map { event.time.timeIntervalSince($0) } ?? 0
            default: break
            }
        }
    }

    var seconds: [String: Double] { lock.withLock { durations } }
}
