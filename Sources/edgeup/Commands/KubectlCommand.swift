import ArgumentParser
import EdgeupKit
import Foundation

struct KubectlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubectl",
        abstract: "Run the local kubectl against one store, through its gateways, without a running proxy.",
        discussion: """
            Fetches the store's kubeconfig from its first server over SSH, opens a tunnel through \
            the store's gateway chain that lives for this command only, and runs kubectl with that \
            kubeconfig (read from a descriptor, never written to disk). Exits with kubectl's status. \
            For scripts and CI; for k9s and long sessions, run edgeup proxy. The inventory files \
            come first; without any, $EDGEUP_INVENTORY (colon-separated) is read.

            Examples:
              edgeup kubectl inventories/coffee-shops.yaml store-ha -- get nodes -o wide
              EDGEUP_INVENTORY=inventories/coffee-shops.yaml edgeup kubectl store-ha -- get pods -A
            """
    )

    @Argument(help: ArgumentHelp("Inventory YAML files, the store, then -- and kubectl's arguments.", valueName: "inventory... store -- args"))
    var words: [String] = []

    @OptionGroup var timeouts: TimeoutOptions

    var leading: [String] { Array(words.dropLast(trailingCommandWordCount())) }
    var kubectlArguments: [String] { Array(words.suffix(trailingCommandWordCount())) }

    func validate() throws {
        guard !leading.isEmpty else {
            throw ValidationError("give the store, e.g. edgeup kubectl inventory.yaml store-ha -- get nodes")
        }
        if kubectlArguments.isEmpty {
            throw ValidationError("give kubectl's arguments after --, e.g. edgeup kubectl inventory.yaml store-ha -- get nodes")
        }
    }

    func run() async throws {
        let files = inventoryFiles(before: leading, environment: ProcessInfo.processInfo.environment)
        guard !files.isEmpty else {
            throw ValidationError("give the inventory files before the store, or set EDGEUP_INVENTORY (paths separated by ':')")
        }
        let inventory = try loadInventory(files)
        let options = KubectlOptions(
            inventory: inventory, store: leading.last!, arguments: kubectlArguments, connection: timeouts.connection)
        let status = try await reportingFailures {
            try await runKubectl(options) { printError("edgeup: \($0)") }
        }
        try exitIfFailed(status)
    }
}
