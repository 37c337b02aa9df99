import ArgumentParser
import EdgeupKit
import Foundation

struct SSHCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssh",
        abstract: "Open a shell, or run one command, on a store's host through its gateways.",
        discussion: """
            The target is STORE or STORE/HOST (default: the store's first server); the inventory \
            files come before it, else $EDGEUP_INVENTORY (paths separated by ':'). The host is \
            reached with the inventory's user, key, gateways and host-key policy, like every other \
            command. The shell gets a pseudo-terminal with your $TERM and window size (resized with \
            your window) when stdin is a terminal; a command gets none unless -t, and then its \
            stdout and stderr stay apart. One command word is a command line as written; several \
            are a program and its arguments, each word passed as it is.

            --sudo: a command runs through sudo as `edgeup exec --sudo` runs it (passwordless, or \
            the host's sudoPasswordEnv, written only in answer to sudo's prompt); the shell becomes \
            a root login shell (sudo -i). On a pseudo-terminal (the shell, or -t) sudo asks for a \
            password on your terminal when it wants one: type it there; edgeup does not type \
            sudoPasswordEnv into a terminal.

            --command-timeout bounds the whole session; the inventory's ssh.commandTimeout,             meant for edgeup's own steps, does not.

            Exit status: the remote command's or shell's, 128+N when it was killed by signal N, \
            255 when edgeup could not run it (unknown store or host, a gateway or the host \
            unreachable, host key, login, sudo).

            Examples:
              edgeup ssh inventories/coffee-shops.yaml eu-003
              edgeup ssh inventories/coffee-shops.yaml eu-003/eu-003-menu --sudo
              edgeup ssh inventories/coffee-shops.yaml eu-003 -- uptime
              EDGEUP_INVENTORY=inventories/coffee-shops.yaml edgeup ssh eu-003 --sudo -- 'journalctl -u k3s | tail'
            """
    )

    // Files, target and command arrive together (see `trailingCommandWordCount`).
    @Argument(help: ArgumentHelp("Inventory YAML files, the target, then -- and a command.", valueName: "inventory... store[/host] -- command"))
    var words: [String] = []

    @OptionGroup var timeouts: TimeoutOptions

    @Flag(name: .customShort("t"), help: "A pseudo-terminal even for a command (full-screen programs).")
    var forceTerminal = false

    @Flag(name: .customShort("T"), help: "No pseudo-terminal, not even for the shell.")
    var disableTerminal = false

    @Flag(name: .long, help: "As root: the command through sudo as the host's ssh settings say, the shell as sudo -i.")
    var sudo = false

    func validate() throws {
        if forceTerminal && disableTerminal { throw ValidationError("-t and -T exclude each other") }
        _ = try invocation()
    }

    private func invocation() throws -> ShellInvocation {
        do throws(ShellUsageError) {
            return try ShellInvocation(
                words: words, commandWordCount: trailingCommandWordCount(), environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        let invocation = try invocation()
        let inventory = try loadInventory(invocation.files)
        let environment = ProcessInfo.processInfo.environment
        let options = ShellOptions(
            inventory: inventory, target: invocation.target, command: invocation.commandLine,
            terminal: forceTerminal ? .forced : disableTerminal ? .disabled : .automatic, sudo: sudo,
            connection: timeouts.connection, stdinIsTerminal: isatty(STDIN_FILENO) == 1, terminalType: environment["TERM"])
        let exit = try await reportingFailures {
            try await runShell(options) { event in
                if case let .warnings(warnings) = event { printWarnings(warnings) }
            }
        }
        try exitIfFailed(exit.code)
    }
}
