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
            store's API endpoint (a store behind gateways: <context>.edgeup.invalid through \
            edgeup proxy, see edgeup proxy --help) and merges it atomically under <kubeconfig>.lock. A k3s.yaml holding \
            anything beyond the server, CA and client certificate and key (exec, tokens, file paths, \
            proxy-url, ...) is refused. Entries this inventory wrote earlier are replaced; a store \
            whose name is taken by any other entry is skipped and that entry left alone; everything \
            else in the file is kept. Touches no cluster. Then warns about each selected store's \
            context whose client certificate expires within 30 days (or has expired).

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
        let options = KubeconfigFetchOptions(
            inventory: inventory, stores: selection.selection().apply(to: inventory),
            fleet: kubeconfig.fleetName(for: inventory),
            output: print ? .print : .write(kubeconfig.destination(for: inventory), prune: prune),
            concurrency: concurrency, connection: timeouts.connection)
        let result = try await reportingFailures {
            try await runKubeconfig(options) { if case let .warnings(warnings) = $0 { printWarnings(warnings) } }
        }
        if let standalone = result.standalone { Swift.print(standalone, terminator: "") }
        if let target = result.target {
            printError("\(result.written) store kubeconfig\(result.written == 1 ? "" : "s") written to \(target)")
        }
        for failure in result.failures { printError(stderrStyle.red("✗ ") + failure.summary) }
        for skip in result.skipped { printError(stderrStyle.red("✗ ") + skip.error.description) }
        for warning in result.clientCertificateWarnings { printError(stderrStyle.render(warning.diagnostic)) }
        try exitIfFailed(result.exitCode)
    }
}
