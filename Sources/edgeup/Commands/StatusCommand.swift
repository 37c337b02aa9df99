import ArgumentParser
import EdgeupKit

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the last known state of every selected store from the local run journal.",
        discussion: """
            Without connecting, shows what the last runs did and left on each store; with --live, \
            connects and gathers fresh facts.

            Example:
              edgeup status inventories/coffee-shops.yaml --selector region=eu
            """
    )

    @OptionGroup var inventory: InventoryArguments
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var output: OutputOptions

    @Flag(name: .long, help: "Connect to the hosts and gather fresh facts instead of reading the journal.")
    var live = false

    func run() async throws {
        _ = try inventory.load()
        throw notImplemented("status (the run journal)")
    }
}
