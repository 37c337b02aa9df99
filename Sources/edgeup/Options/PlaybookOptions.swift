import ArgumentParser
import EdgeupKit
import Foundation

/// Where playbooks are found; read the same way by validate, plan and apply.
struct PlaybookOptions: ParsableArguments {
    @Option(
        name: .customLong("playbooks"),
        help: ArgumentHelp(
            "Folder of playbooks, searched first (repeatable); then playbooks/ beside each inventory, then ./playbooks, then the installed share/edgeup/playbooks.",
            valueName: "dir"))
    var directories: [String] = []

    /// Renders the stores' playbooks, or prints every problem and exits 2 before any host is touched.
    func render(_ stores: [Store], inventoryFiles: [String]) throws -> [String: StorePlaybooks] {
        let searchPath = PlaybookLibrary.searchPath(
            explicit: directories, inventoryFiles: inventoryFiles,
            currentDirectory: FileManager.default.currentDirectoryPath)
        switch PlaybookRenderer.prepare(stores, searchPath: searchPath) {
        case let .success(rendered):
            return rendered
        case let .failure(error):
            for diagnostic in error.diagnostics { printError(stderrStyle.render(diagnostic)) }
            printError("edgeup: \(error.diagnostics.count) error(s) in playbooks; nothing was changed.")
            throw ExitCode(2)
        }
    }
}
