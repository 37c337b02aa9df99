import ArgumentParser
import EdgeupKit

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Print the selected stores' playbooks as apply would send them, without connecting.",
        discussion: """
            Renders every playbook unit (manifests, files, commands) with each store's values and \
            prints it under a header naming the store, the unit, its host and its SHA-256 (the \
            hash plan compares with what the hosts recorded). A unit holding a value read with \
            !env is not printed.

            Example:
              edgeup render inventories/coffee-shops.yaml --stores eu-lisbon-1
            """
    )

    @OptionGroup var inventory: InventoryArguments
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var playbooks: PlaybookOptions

    func run() throws {
        let inventory = try inventory.load()
        let stores = selection.selection().apply(to: inventory)
        let rendered = try playbooks.render(stores, inventoryFiles: inventory.files)
        for store in stores {
            for unit in rendered[store.name]?.units ?? [] {
                let host = unit.host.map { " on \($0)" } ?? ""
                print(stdoutStyle.dim("# \(store.name): \(unit.id)\(host) sha256:\(unit.sha256.prefix(12))"))
                print(unit.sensitive ? "# (withheld: it holds a value read with !env)" : unit.content, terminator: unit.content.hasSuffix("\n") ? "" : "\n")
            }
        }
    }
}
