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
    @OptionGroup var uploads: UploadOptions

    @Flag(name: .customLong("playbooks-only"), help: "Re-apply playbooks to stores whose cluster runs; leave k3s as it is.")
    var playbooksOnly = false

    @OptionGroup var upgrade: UpgradeOptions

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

    @Flag(name: .customLong("no-lan-copy"), help: "Send artifacts from this machine to every host, instead of once per store with the other hosts copying them across the store's LAN.")
    var noLANCopy = false

    @Option(name: .customLong("report-junit"), help: ArgumentHelp("Write a JUnit report (one test case per store) here.", valueName: "path"))
    var reportJUnit: String?

    func run() async throws {
        let inventory = try inventory.load()
        let stores = selection.selection().apply(to: inventory)
        var planning = try PlanningOptions(
            inventory, stores: stores, playbooks: playbooks, playbooksOnly: playbooksOnly, upgrade: upgrade,
            kubeconfig: kubeconfig, timeouts: timeouts, concurrency: concurrency)
        planning.connection = uploads.applied(to: planning.connection)
        var options = ApplyOptions(
            planning: planning,
            savedPlan: plan, agentBatchSize: agentBatchSize, readinessTimeout: .seconds(readinessTimeout),
            rollout: RolloutOptions(
                canary: canary, batchSize: batchSize, maxConcurrentStores: maxConcurrentStores,
                maxFailedStores: maxFailedStores),
            state: .ofThisProcess)
        options.lanCopy = !noLANCopy
        let json = output.output == .json
        let view = RunView(
            mode: json ? .json : (stderrStyle.colors ? .live : .plain), factsProgress: stderrStyle.colors, showsPlan: !json)
        let result = try await reportingFailures { try await runApply(options, events: view.handle) }
        view.finish()
        let summary = ApplySummary(result: result.rollout, style: stderrStyle, bytesUploaded: result.bytesUploaded)
        if !json { printError(summary.text + stderrStyle.dim("run \(result.run): \(result.runFolder)")) }
        if let reportJUnit {
            // Remote output (failure messages, log tails): private, like the journal.
            try PrivateFile.write(Array(summary.junit(name: "edgeup apply", seconds: result.storeSeconds).xml.utf8), to: reportJUnit)
        }
        try exitIfFailed(result.exitCode)
    }
}
