import ArgumentParser
import EdgeupKit

/// Which stores a fleet command works on; read the same way by every command.
struct SelectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Only stores whose name matches this glob (repeatable).", valueName: "glob"))
    var stores: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only stores with this label: key=value, key!=value or key (repeatable).", valueName: "selector"))
    var selector: [String] = []

    @Option(name: .long, help: ArgumentHelp("Take part i of n of the selected stores (deterministic split for CI runners).", valueName: "i/n"))
    var shard: String?

    func validate() throws {
        for text in selector where LabelSelector(parsing: text) == nil {
            throw ValidationError("invalid --selector '\(text)': use key=value, key!=value or key")
        }
        if let shard, Shard(parsing: shard) == nil {
            throw ValidationError("invalid --shard '\(shard)': use i/n with 1 ≤ i ≤ n, e.g. 2/3")
        }
    }

    func selection(role: Role? = nil) -> StoreSelection {
        StoreSelection(
            storeGlobs: stores,
            selectors: selector.compactMap(LabelSelector.init(parsing:)),
            role: role,
            shard: shard.flatMap(Shard.init(parsing:)))
    }
}

extension Role: ExpressibleByArgument {}
