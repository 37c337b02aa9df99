import ArgumentParser
import EdgeupKit
import Foundation

struct KubeconfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubeconfig",
        abstract: "Fetch each selected store's kubeconfig and merge it into your local kubeconfig.",
        discussion: """
            Reads /etc/rancher/k3s/k3s.yaml from each store's first server (through sudo), renames \
            cluster, user and context to the store's context name, points the server at the \
            store's API endpoint and merges it atomically under <kubeconfig>.lock. A k3s.yaml holding \
            anything beyond the server, CA and client certificate and key (exec, tokens, file paths, \
            proxy-url, ...) is refused. Entries this inventory wrote earlier are replaced; a store \
            whose name is taken by any other entry is skipped and that entry left alone; everything \
            else in the file is kept. Touches no cluster.

            Examples:
              edgeup kubeconfig inventories/coffee-shops.yaml --stores eu-001
              kubectl --context cafe-eu-001 get nodes
              edgeup kubeconfig inventories/coffee-shops.yaml --print > fleet.kubeconfig
              edgeup kubeconfig inventories/coffee-shops.yaml --prune
            """
    )

    @OptionGroup var inventory: InventoryArguments
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var kubeconfig: KubeconfigOptions
    @OptionGroup var timeouts: TimeoutOptions

    @Flag(name: .long, help: "Write the selected stores' kubeconfig to stdout instead of merging.")
    var print = false

    @Flag(name: .long, help: "Also remove entries this inventory merged earlier for stores it no longer has.")
    var prune = false

    @Option(name: .long, help: "Stores to fetch from at once.")
    var concurrency = 50

    func run() async throws {
        let inventory = try inventory.load()
        let stores = selection.selection().apply(to: inventory)
        let hosts = stores.compactMap { store in store.firstServer.map { StoreHost(store: store, host: $0) } }
        let session = FleetSession(inventory: inventory, hosts: hosts, timeouts: timeouts)
        let fleet = kubeconfig.fleetName(for: inventory)
        let fetcher = KubeconfigFetcher(session: session)
        let results = await fetchAll(stores, fetcher: fetcher, fleet: fleet)
        await session.close()
        for warning in session.client.warnings { printError(stderrStyle.yellow(warning)) }
        let entries = results.compactMap { try? $0.get() }
        let failures = results.compactMap { result -> ProvisioningError? in
            if case let .failure(error) = result { return error }
            return nil
        }
        var skipped: [KubeconfigSkip] = []
        if print {
            Swift.print(try KubeconfigMerger.standalone(entries), terminator: "")
        } else {
            let prune = prune ? KubeconfigPrune(fleet: fleet, keep: Set(inventory.stores.map(\.context))) : nil
            do {
                skipped = try await kubeconfig.destination(for: inventory).write(entries, prune: prune)
            } catch {
                printError(stderrStyle.render(.error(error.description, at: nil)))
                throw ExitCode.failure
            }
            let target = kubeconfig.noMerge ? kubeconfig.kubeconfigDirectory : kubeconfig.file().path
            let written = entries.count - skipped.count
            printError("\(written) store kubeconfig\(written == 1 ? "" : "s") written to \(target)")
        }
        for failure in failures { printError(stderrStyle.red("✗ ") + failure.summary) }
        for skip in skipped { printError(stderrStyle.red("✗ ") + skip.error.description) }
        if !failures.isEmpty || !skipped.isEmpty { throw ExitCode.failure }
    }

    private func fetchAll(_ stores: [Store], fetcher: KubeconfigFetcher, fleet: String) async
        -> [Result<StoreKubeconfig, ProvisioningError>]
    {
        await fanOut(stores, limit: concurrency) { store in
            do throws(ProvisioningError) {
                return .success(try await fetcher.fetch(store, fleet: fleet))
            } catch {
                return .failure(error)
            }
        }
    }
}
