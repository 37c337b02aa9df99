import ArgumentParser
import EdgeupKit

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up each selected store's datastore and token to a local folder.",
        discussion: """
            On each store's first server: embedded etcd through `k3s etcd-snapshot save`; SQLite as \
            a copy of state.db taken while k3s is stopped for a moment (running pods are not \
            affected). The files, the server token (a restore needs it) and a manifest.json (store, \
            datastore, k3s version, time, SHA-256 of each file) land in DIR/<store>/<run>/, folders \
            0700 and files 0600. Files are read into memory, up to 1 GiB each.

            Example:
              edgeup backup inventories/coffee-shops.yaml --stores 'store-0*' --to /srv/backups/edge
            """
    )

    @OptionGroup var inventory: InventoryArguments
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var timeouts: TimeoutOptions

    @Option(name: .long, help: ArgumentHelp("The folder backups go into (created 0700 when missing).", valueName: "dir"))
    var to: String

    @Option(name: .customLong("max-concurrent-stores"), help: "Stores backed up at once.")
    var maxConcurrentStores = 4

    func run() async throws {
        let inventory = try inventory.load()
        let options = BackupOptions(
            inventory: inventory, stores: selection.selection().apply(to: inventory), folder: to,
            connection: timeouts.connection, state: .ofThisProcess, maxConcurrentStores: maxConcurrentStores)
        let view = RunView(mode: stderrStyle.colors ? .live : .plain, factsProgress: false, showsPlan: false)
        let result = try await reportingFailures { try await runBackup(options, events: view.handle) }
        view.finish()
        printError(ApplySummary(result: result.rollout, style: stderrStyle, done: "backed up").text)
        for (store, path) in result.folders { print("\(store)\t\(path)") }
        try exitIfFailed(result.exitCode)
    }
}
