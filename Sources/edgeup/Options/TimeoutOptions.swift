import ArgumentParser
import EdgeupKit
import Foundation

/// How long a host may take, for every command that connects to a fleet; each flag overrides
/// the inventory's `ssh.connectTimeout` / `ssh.commandTimeout`.
struct TimeoutOptions: ParsableArguments {
    @Option(
        name: .customLong("connect-timeout"),
        help: ArgumentHelp("Seconds to reach and log in to each host (per hop); default: ssh.connectTimeout, else 10.", valueName: "seconds"))
    var connectTimeout: Int?

    @Option(
        name: .customLong("command-timeout"),
        help: ArgumentHelp(
            "Seconds any remote command may run; a command that takes longer is stopped and its host's connection closed. Default: ssh.commandTimeout, else each step's own limit.",
            valueName: "seconds"))
    var commandTimeout: Int?

    func validate() throws {
        for (flag, value) in [("--connect-timeout", connectTimeout), ("--command-timeout", commandTimeout)] {
            if let value, value <= 0 { throw ValidationError("\(flag) must be a positive number of seconds") }
        }
    }

    /// The flags as the pipelines take them, with this process's environment and home.
    var connection: ConnectionOptions {
        ConnectionOptions(
            connectTimeoutSeconds: connectTimeout, commandTimeoutSeconds: commandTimeout,
            environment: ProcessInfo.processInfo.environment, homeDirectory: NSHomeDirectory())
    }
}
