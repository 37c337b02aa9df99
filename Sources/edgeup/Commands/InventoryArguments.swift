import ArgumentParser
import Foundation
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

/// How many trailing words came after `--` on the real command line: ArgumentParser allows no
/// positional after a repeated one and drops the `--`, so commands that take inventory files and
/// then a command get both in one list and split it here.
var wordsAfterDoubleDash: Int {
    let arguments = CommandLine.arguments
    return arguments.firstIndex(of: "--").map { arguments.count - $0 - 1 } ?? 0
}

/// The inventory files of a command whose last word before `--` is its target: the words before
/// it, else `$EDGEUP_INVENTORY` (colon-separated paths).
func inventoryFiles(before words: [String]) throws -> [String] {
    let files = Array(words.dropLast())
    if !files.isEmpty { return files }
    let listed = (ProcessInfo.processInfo.environment["EDGEUP_INVENTORY"] ?? "").split(separator: ":").map(String.init)
    guard !listed.isEmpty else {
        throw ValidationError("give the inventory files before the store, or set EDGEUP_INVENTORY")
    }
    return listed
}
