import ArgumentParser
import EdgeupKit
import Foundation

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Put a store's backup (edgeup backup) back, with k3s's documented procedure.",
        discussion: """
            Embedded etcd: k3s stops on every server; the first runs `k3s server --cluster-reset \
            --cluster-reset-restore-path=<snapshot>` and starts; the others start again one at a time \
            with a wiped server/db. SQLite: k3s stops, state.db goes back, k3s starts. Refused before \
            anything stops when the backup does not match its manifest, the server runs another k3s \
            release, or the store's token is not the backup's. Everything written after the backup \
            is lost: asks on a terminal (type the store's name) or needs --yes.

            Example:
              edgeup restore inventories/coffee-shops.yaml --stores store-042 --from /srv/backups/edge
            """
    )

    @OptionGroup var inventory: InventoryArguments
    @OptionGroup var timeouts: TimeoutOptions

    @Option(name: .long, help: ArgumentHelp("The store to restore.", valueName: "name"))
    var stores: String

    @Option(name: .long, help: ArgumentHelp("A backup folder, or the folder backups went to (then the store's newest).", valueName: "dir"))
    var from: String

    @Flag(name: .long, help: "Do not ask (required without a terminal).")
    var yes = false

    func run() async throws {
        let inventory = try inventory.load()
        guard let store = inventory.stores.first(where: { $0.name == stores }) else {
            printError("edgeup: no store named \(stores) in the inventory")
            throw ExitCode(1)
        }
        if !yes {
            guard isatty(STDIN_FILENO) == 1 else {
                printError("edgeup: restore replaces the cluster's data and there is no terminal to confirm on: pass --yes")
                throw ExitCode(2)
            }
            FileHandle.standardError.write(Data(StoreConfirmation.prompt(
                for: [store], doing: "replaces the cluster's data (everything since the backup is lost) of").utf8))
            guard let typed = readLine(), StoreConfirmation.accepts(typed, for: [store]) else {
                printError("edgeup: not confirmed; nothing was touched")
                throw ExitCode(2)
            }
        }
        let options = RestoreOptions(inventory: inventory, store: store, from: from, connection: timeouts.connection, state: .ofThisProcess)
        let view = RunView(mode: stderrStyle.colors ? .live : .plain, factsProgress: false, showsPlan: false)
        let result = try await reportingFailures { try await runRestore(options, events: view.handle) }
        view.finish()
        let rollout = RolloutResult(outcomes: [result.outcome], notStarted: [:])
        printError(ApplySummary(result: rollout, style: stderrStyle, done: "restored").text + stderrStyle.dim("from \(result.folder), run \(result.run)"))
        try exitIfFailed(result.exitCode)
    }
}
