import ArgumentParser
import EdgeupKit

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Converge every selected store to the inventory: install, join, configure, apply playbooks.",
        discussion: """
            Plans from fresh facts, then executes: stores in parallel (bounded), and inside each \
            store the order k3s needs: first server, other servers one at a time, agents in \
            batches, playbooks, kubeconfig. Exit 0 only if every selected store converged.

            Example:
              edgeup apply inventories/coffee-shops.yaml --stores 'store-0*'
            """
    )

    @OptionGroup var inventory: InventoryArguments
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        _ = try inventory.load()
        throw notImplemented("apply (the execution engine)")
    }
}
