import ArgumentParser
import EdgeupKit
import Foundation

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would change on every selected store, from facts gathered over SSH.",
        discussion: """
            Connects to every selected host (read-only), gathers facts (k3s installed? version? \
            config? service? node joined?) and prints, per store, the ordered actions apply would \
            take and why. Changes nothing. Unreachable hosts are reported, not fatal.

            Exit codes: 0 plan made (1 if any store is blocked). With --detailed-exitcode: 0 nothing \
            to do, 2 changes pending, 1 error or blocked store.

            Example:
              edgeup plan inventories/coffee-shops.yaml --stores 'eu-*' --out plan.json
            """
    )

    @OptionGroup var inventory: InventoryArguments
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var kubeconfig: KubeconfigOptions
    @OptionGroup var playbooks: PlaybookOptions
    @OptionGroup var timeouts: TimeoutOptions

    @Flag(name: .customLong("playbooks-only"), help: "Plan only playbooks, on stores whose cluster runs; leave k3s as it is.")
    var playbooksOnly = false

    @Option(name: .long, help: ArgumentHelp("Also save the plan as JSON here (for apply --plan).", valueName: "path"))
    var out: String?

    @Flag(name: .customLong("detailed-exitcode"), help: "Exit 0 when nothing is to do, 2 when changes are pending, 1 on errors.")
    var detailedExitcode = false

    @Option(name: .long, help: "Hosts to gather facts from at once.")
    var concurrency = 100

    func run() async throws {
        let inventory = try inventory.load()
        let stores = selection.selection().apply(to: inventory)
        let rendered = try playbooks.render(stores, inventoryFiles: inventory.files)
        let plan = try await gatherPlan(
            inventory, stores: stores, kubeconfig: kubeconfig, concurrency: concurrency, playbooks: rendered,
            playbooksOnly: playbooksOnly, timeouts: timeouts).plan
        if let out { try savePlan(plan, to: out) }
        switch output.output {
        case .json: try printJSON(plan)
        case .text: print(PlanText(style: stdoutStyle).render(plan), terminator: "")
        }
        if plan.hasProblems { throw ExitCode.failure }
        if detailedExitcode && plan.hasChanges { throw ExitCode(2) }
    }
}

/// Facts and plan for a command, with progress on stderr when it is a terminal.
func gatherPlan(
    _ inventory: Inventory, stores: [Store], kubeconfig: KubeconfigOptions, concurrency: Int,
    playbooks: [String: StorePlaybooks], playbooksOnly: Bool = false, timeouts: TimeoutOptions = TimeoutOptions(),
    session: FleetSession? = nil
) async throws -> ExecutablePlan {
    let hosts = stores.flatMap { store in store.hosts.map { StoreHost(store: store, host: $0) } }
    let owned = session == nil
    let session = session ?? FleetSession(inventory: inventory, hosts: hosts, timeouts: timeouts)
    let contexts = kubeconfig.noMerge ? nil : kubeconfig.file().contextNames()
    let counter = Counter()
    let showProgress = stderrStyle.colors
    let runner = FleetRunner(
        session: session, factsConcurrency: concurrency, kubeconfigContexts: contexts, playbooks: playbooks,
        playbooksOnly: playbooksOnly)
    let result = await runner.plan(inventory, stores: stores) { _, _ in
            guard showProgress else { return }
            let seen = counter.increment()
            printErrorInline("\u{1B}[2K\rgathering facts: \(seen)/\(hosts.count) hosts")
        }
    if showProgress { printErrorInline("\u{1B}[2K\r") }
    for warning in session.client.warnings { printError(stderrStyle.yellow(warning)) }
    // A session this function opened is closed here: nothing may run in the SSH layer at exit.
    if owned { await session.close() }
    return result
}

func savePlan(_ plan: Plan, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    // Facts and hashes from every host: private, like the journal.
    try PrivateFile.write(try encoder.encode(plan), to: path)
}

/// A counter callbacks from many tasks can bump.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func increment() -> Int {
        lock.withLock {
            value += 1
            return value
        }
    }
}
