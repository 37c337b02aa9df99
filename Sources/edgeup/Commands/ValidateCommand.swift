import ArgumentParser
import EdgeupKit
import Foundation

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Load, merge and check inventory files and render their playbooks, without connecting to any host.",
        discussion: """
            Reports every problem at once, each with file:line:column, what is wrong and a hint: \
            unknown keys, missing keys, duplicate names or addresses, unknown gateways, gateway \
            cycles, server counts that do not fit the datastore, invalid roles, labels, taints and \
            addresses; then every store's playbooks are rendered and their manifests checked. \
            Exit code 0 when valid (warnings allowed), 2 when not.

            Example:
              edgeup validate inventories/common.yaml inventories/eu-stores.yaml
              edgeup validate --output json inventories/*.yaml
            """
    )

    @OptionGroup var inventory: InventoryArguments
    @OptionGroup var output: OutputOptions
    @OptionGroup var playbooks: PlaybookOptions

    struct Report: Encodable {
        var valid: Bool
        var summary: InventorySummary?
        var diagnostics: [Diagnostic]
    }

    func run() throws {
        var result = InventoryLoader().load(paths: inventory.files)
        var units = 0
        if let loaded = result.inventory {
            let searchPath = PlaybookLibrary.searchPath(
                explicit: playbooks.directories, inventoryFiles: loaded.files,
                currentDirectory: FileManager.default.currentDirectoryPath)
            switch PlaybookRenderer.prepare(loaded.stores, searchPath: searchPath) {
            case let .success(rendered): units = rendered.values.reduce(0) { $0 + $1.units.count }
            case let .failure(error):
                result.diagnostics += error.diagnostics
                result.inventory = nil
            }
        }
        switch output.output {
        case .json:
            try printJSON(Report(
                valid: result.inventory != nil, summary: result.inventory.map(InventorySummary.init),
                diagnostics: result.diagnostics))
        case .text:
            for diagnostic in result.diagnostics {
                printError(stderrStyle.render(diagnostic))
            }
            if let loaded = result.inventory {
                let files = loaded.files.count == 1 ? loaded.files[0] : "\(loaded.files.count) files"
                print(stdoutStyle.green("valid") + ": \(files): " + InventorySummary(loaded).text
                    + (units > 0 ? "; \(units) playbook units rendered" : ""))
            } else {
                printError("edgeup: \(result.errors.count) error(s); not valid.")
            }
        }
        if result.inventory == nil { throw ExitCode(2) }
    }
}
