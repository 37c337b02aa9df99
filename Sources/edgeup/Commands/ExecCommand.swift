import ArgumentParser
import EdgeupKit

struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a shell command on every selected host in parallel and show each host's output.",
        discussion: """
            Output lines are prefixed with store/host (or one JSON object per host with \
            --output json); a summary lists failed hosts; exit 1 if any host failed.

            Example:
              edgeup exec inventories/coffee-shops.yaml --role server -- uptime
              edgeup exec inventories/lab.yaml --stores 'store-00*' -- k3s --version
            """
    )

    // ArgumentParser allows no positional after a repeated one, so files and command arrive
    // together and are split where the user wrote `--`.
    @Argument(help: ArgumentHelp("Inventory YAML files, then -- and the command to run.", valueName: "inventory... -- command"))
    var words: [String] = []

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var output: OutputOptions

    @Option(name: .long, help: "Only hosts with this role.")
    var role: Role?

    /// How many trailing words came after `--` on the real command line.
    private var commandWordCount: Int {
        let arguments = CommandLine.arguments
        return arguments.firstIndex(of: "--").map { arguments.count - $0 - 1 } ?? 0
    }

    var files: [String] { Array(words.dropLast(commandWordCount)) }
    var command: [String] { Array(words.suffix(commandWordCount)) }

    func validate() throws {
        if command.isEmpty {
            throw ValidationError("give the command to run after --, e.g. edgeup exec inventory.yaml -- uptime")
        }
        if files.isEmpty {
            throw ValidationError("give at least one inventory file before --")
        }
    }

    func run() async throws {
        _ = try loadInventory(files)
        throw notImplemented("exec (the SSH layer)")
    }
}
