import ArgumentParser
import EdgeupKit
import Foundation

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

    // Files and command arrive together (see `trailingCommandWordCount`).
    @Argument(help: ArgumentHelp("Inventory YAML files, then -- and the command to run.", valueName: "inventory... -- command"))
    var words: [String] = []

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var timeouts: TimeoutOptions

    @Option(name: .long, help: "Only hosts with this role.")
    var role: Role?

    @Flag(name: .long, help: "Run the command through sudo, as each host's ssh settings say (passwordless or sudoPasswordEnv).")
    var sudo = false

    @Option(name: .long, help: "Hosts to work on at once.")
    var concurrency = 100

    var files: [String] { Array(words.dropLast(trailingCommandWordCount())) }
    var command: [String] { Array(words.suffix(trailingCommandWordCount())) }

    func validate() throws {
        if command.isEmpty {
            throw ValidationError("give the command to run after --, e.g. edgeup exec inventory.yaml -- uptime")
        }
        if files.isEmpty {
            throw ValidationError("give at least one inventory file before --")
        }
    }

    func run() async throws {
        let inventory = try loadInventory(files)
        let options = ExecOptions(
            inventory: inventory, stores: selection.selection(role: role).apply(to: inventory),
            command: command.joined(separator: " "), sudo: sudo, concurrency: concurrency, connection: timeouts.connection)
        let (json, style) = (output.output == .json, stdoutStyle)
        let result = try await reportingFailures {
            try await runExec(options) { event in
                switch event {
                case let .output(target, stream, line):
                    guard !json else { return }
                    let handle = stream == .stdout ? FileHandle.standardOutput : FileHandle.standardError
                    handle.write(Data("\(style.dim(target.label)) | \(line)\n".utf8))
                case let .warnings(warnings): printWarnings(warnings)
                case let .interrupted(notice): printError("edgeup: \(notice)")
                default: break
                }
            }
        }
        if json {
            for host in result.results { try printJSONLine(host) }
        } else {
            printSummary(result)
        }
        try exitIfFailed(result.exitCode)
    }

    private func printSummary(_ result: ExecResult) {
        let (count, failed) = (result.results.count, result.failed)
        let line = "\(count) host\(count == 1 ? "" : "s"): \(count - failed.count) ok, \(failed.count) failed"
        printError(failed.isEmpty ? stderrStyle.green(line) : stderrStyle.red(line))
        for host in failed {
            printError("  \(host.store)/\(host.host): \(host.failureReason ?? "failed")")
        }
    }
}
