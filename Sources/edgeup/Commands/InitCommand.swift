import ArgumentParser
import EdgeupKit
import Foundation

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a commented starter inventory and a playbooks folder.",
        discussion: """
            Writes DIR/inventory.yaml (one store reached through one gateway, with the defaults \
            explained) and DIR/playbooks/ with one playbook the inventory uses. The result passes \
            `edgeup validate` as it is; edit the addresses, then plan and apply. Refuses, writing \
            nothing, when inventory.yaml or playbooks/ already exists in DIR (exit 1).

            Example:
              edgeup init fleet && edgeup validate fleet/inventory.yaml
            """
    )

    @Argument(help: ArgumentHelp("Folder to write into (created if missing).", valueName: "dir"))
    var directory = "."

    func run() throws {
        do {
            for path in try StarterProject.write(into: directory) { print("wrote \(path)") }
        } catch let refusal as StarterProject.Refusal {
            let verb = refusal.existing.count == 1 ? "exists" : "exist"
            printError("edgeup: \(refusal.existing.joined(separator: " and ")) already \(verb); nothing was written.")
            throw ExitCode.failure
        }
        print("next: edgeup validate \((directory as NSString).appendingPathComponent(StarterProject.inventoryFile))")
    }
}
