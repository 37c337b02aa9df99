import ArgumentParser
import EdgeupKit

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would change on every selected store, from facts gathered over SSH.",
        discussion: """
            Connects to every selected host (read-only), gathers facts (k3s installed? version? \
            config? service? node joined?) and prints, per store, the ordered actions apply would \
            take and why. Changes nothing.

            Example:
              edgeup plan inventories/coffee-shops.yaml --stores 'store-0*'
            """
    )

    @OptionGroup var inventory: InventoryArguments
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        _ = try inventory.load()
        throw notImplemented("plan (fact gathering and the plan engine)")
    }
}
