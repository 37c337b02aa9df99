import ArgumentParser
import EdgeupKit
import Foundation

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the last known state of every selected store from the local run journal.",
        discussion: """
            Without connecting, shows what the last apply did to each store (converged, failed, \
            or never run), read from the state folder ($EDGEUP_STATE_DIR, else \
            ~/.local/state/edgeup). With --live, connects, gathers facts and shows whether each \
            store matches the inventory now, with the days left of each store's k3s \
            certificates. Either way, warns about merged contexts whose client certificate \
            expires within 30 days.

            Example:
              edgeup status inventories/coffee-shops.yaml --selector region=eu
              edgeup status inventories/coffee-shops.yaml --live
            """
    )

    @OptionGroup var inventory: InventoryArguments
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var kubeconfig: KubeconfigOptions
    @OptionGroup var playbooks: PlaybookOptions
    @OptionGroup var timeouts: TimeoutOptions

    @Flag(name: .long, help: "Connect to the hosts and gather fresh facts instead of reading the journal.")
    var live = false

    @Option(name: .long, help: "Hosts to gather facts from at once (with --live).")
    var concurrency = 100

    func run() async throws {
        let inventory = try inventory.load()
        let stores = selection.selection().apply(to: inventory)
        let options: StatusOptions = live
            ? .live(try PlanningOptions(
                inventory, stores: stores, playbooks: playbooks, kubeconfig: kubeconfig, timeouts: timeouts,
                concurrency: concurrency))
            : .journal(stores: stores, state: .ofThisProcess)
        let rows = try await runStatus(options, events: FactsProgressLine().handle)
        switch output.output {
        case .json: try printJSON(rows)
        case .text: print(StatusTable.render(rows, style: stdoutStyle), terminator: "")
        }
        for warning in kubeconfig.destination(for: inventory).clientCertificateWarnings(stores: stores) {
            printError(stderrStyle.render(warning.diagnostic))
        }
    }
}
