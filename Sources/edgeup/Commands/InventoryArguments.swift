import ArgumentParser
import EdgeupKit

/// Inventory files, as most fleet commands take them.
struct InventoryArguments: ParsableArguments {
    @Argument(help: ArgumentHelp("Inventory YAML files, merged in order.", valueName: "inventory"))
    var files: [String]

    func load() throws -> Inventory {
        try loadInventory(files)
    }
}

/// Loads inventories the same way for every command: diagnostics to stderr, and on errors exit 2
/// before any host is touched.
func loadInventory(_ files: [String]) throws -> Inventory {
    let result = InventoryLoader().load(paths: files)
    for diagnostic in result.diagnostics {
        printError(stderrStyle.render(diagnostic))
    }
    guard let inventory = result.inventory else {
        printError("edgeup: \(result.errors.count) error(s) in the inventory; nothing was changed.")
        throw ExitCode(2)
    }
    return inventory
}
