import ArgumentParser
import EdgeupKit

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Load, merge and check inventory files without connecting to any host.",
        discussion: """
            Reports every problem at once, each with file:line:column, what is wrong and a hint: \
            unknown keys, missing keys, duplicate names or addresses, unknown gateways, gateway \
            cycles, server counts that do not fit the datastore, invalid roles, labels, taints and \
            addresses. Exit code 0 when valid (warnings allowed), 2 when not.

            Example:
              edgeup validate inventories/common.yaml inventories/eu-stores.yaml
              edgeup validate --output json inventories/*.yaml
            """
    )

    @OptionGroup var inventory: InventoryArguments
    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        var valid: Bool
        var summary: InventorySummary?
        var diagnostics: [Diagnostic]
    }

    func run() throws {
        let result = InventoryLoader().load(paths: inventory.files)
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
                print(stdoutStyle.green("valid") + ": \(files): " + InventorySummary(loaded).text)
            } else {
                printError("edgeup: \(result.errors.count) error(s); the inventory is not valid.")
            }
        }
        if result.inventory == nil { throw ExitCode(2) }
    }
}
