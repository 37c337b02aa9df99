import ArgumentParser
import EdgeSSH
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

    // ArgumentParser allows no positional after a repeated one, so files and command arrive
    // together and are split where the user wrote `--`.
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
        let inventory = try loadInventory(files)
        let stores = selection.selection(role: role).apply(to: inventory)
        let hosts = stores.flatMap { store in store.hosts.map { StoreHost(store: store, host: $0) } }
        guard !hosts.isEmpty else {
            printError("edgeup: no host matches the selection")
            throw ExitCode.failure
        }
        let session = FleetSession(inventory: inventory, hosts: hosts, timeouts: timeouts)
        let json = output.output == .json
        let fanOut = CommandFanOut(session: session, concurrency: concurrency)
        let (line, sudo, style) = (command.joined(separator: " "), sudo, stdoutStyle)
        // ^C abandons the remote commands (their channels close) and still prints what each host said.
        let (results, interruption) = await Interruption.guarding(notice: { printError("edgeup: \($0)") }) {
            await fanOut.run(line, on: hosts, sudo: sudo) { target, stream, line in
                guard !json else { return }
                let text = "\(style.dim(target.label)) | \(line)\n"
                let handle = stream == .stdout ? FileHandle.standardOutput : FileHandle.standardError
                handle.write(Data(text.utf8))
            }
        }
        await session.close()
        for warning in session.client.warnings { printError(stderrStyle.yellow(warning)) }
        if json {
            for result in results { try printJSONLine(result) }
        } else {
            printSummary(results)
        }
        if let status = interruption.exitStatus { throw ExitCode(status) }
        if results.contains(where: { !$0.succeeded }) { throw ExitCode.failure }
    }

    private func printSummary(_ results: [HostCommandResult]) {
        let failed = results.filter { !$0.succeeded }
        let line = "\(results.count) host\(results.count == 1 ? "" : "s"): \(results.count - failed.count) ok, \(failed.count) failed"
        printError(failed.isEmpty ? stderrStyle.green(line) : stderrStyle.red(line))
        for result in failed {
            printError("  \(result.store)/\(result.host): \(result.failureReason ?? "failed")")
        }
    }
}
