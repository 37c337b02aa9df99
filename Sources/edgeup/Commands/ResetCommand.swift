import ArgumentParser
import EdgeupKit
import Foundation

struct ResetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Uninstall k3s from every host of the selected stores and remove their kubeconfig entries.",
        discussion: """
            Agents first, then servers (the first server last), each through its uninstall script; \
            then edgeup's own files on the hosts, and the stores' entries that edgeup wrote in the \
            kubeconfig. The cluster data is deleted: take a backup first. Needs --stores or \
            --selector; asks on a terminal (type the store's name, or the number of stores), and \
            refuses without one unless --yes. A store with `protected: true` is refused even with --yes.

            Example:
              edgeup reset inventories/coffee-shops.yaml --stores store-042
              edgeup reset inventories/lab.yaml --stores 'lab-*' --yes
            """
    )

    @OptionGroup var inventory: InventoryArguments
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var kubeconfig: KubeconfigOptions
    @OptionGroup var timeouts: TimeoutOptions

    @Flag(name: .long, help: "Do not ask: reset the selected stores (required without a terminal).")
    var yes = false

    @Option(name: .customLong("max-concurrent-stores"), help: "Stores reset at once.")
    var maxConcurrentStores = 20

    func validate() throws {
        guard !selection.stores.isEmpty || !selection.selector.isEmpty else {
            throw ValidationError("reset needs --stores or --selector: it never defaults to every store")
        }
    }

    func run() async throws {
        let inventory = try inventory.load()
        let stores = selection.selection().apply(to: inventory)
        if !yes, !stores.isEmpty, !stores.contains(where: \.isProtected) {
            guard isatty(STDIN_FILENO) == 1 else {
                printError("edgeup: reset deletes clusters and there is no terminal to confirm on: pass --yes")
                throw ExitCode(2)
            }
            FileHandle.standardError.write(Data(StoreConfirmation.prompt(for: stores).utf8))
            guard let typed = readLine(), StoreConfirmation.accepts(typed, for: stores) else {
                printError("edgeup: not confirmed; nothing was touched")
                throw ExitCode(2)
            }
        }
        let options = ResetOptions(
            inventory: inventory, stores: stores, kubeconfig: kubeconfig.destination(for: inventory),
            connection: timeouts.connection, state: .ofThisProcess, maxConcurrentStores: maxConcurrentStores)
        let view = RunView(mode: stderrStyle.colors ? .live : .plain, factsProgress: false, showsPlan: false)
        let result = try await reportingFailures { try await runReset(options, events: view.handle) }
        view.finish()
        printError(ApplySummary(result: result.rollout, style: stderrStyle, done: "reset").text)
        if !result.removedContexts.isEmpty {
            printError("kubeconfig: removed \(result.removedContexts.joined(separator: ", "))")
        }
        try exitIfFailed(result.exitCode)
    }
}
