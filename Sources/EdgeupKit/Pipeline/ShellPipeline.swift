import EdgeSSH

/// `edgeup ssh`: the operator's own session on one host, through its gateway chain.
public struct ShellOptions: Sendable {
    public var inventory: Inventory
    public var target: ShellTarget
    /// nil: the login shell.
    public var command: String?
    public var terminal: TerminalChoice
    /// Root: the host's sudo settings for a command without a terminal, `sudo -i` / `sudo`
    /// asking on the terminal otherwise (see `ShellRequest.sudo`).
    public var sudo: Bool
    /// `--command-timeout` bounds the session; the inventory's `ssh.commandTimeout`, meant for
    /// edgeup's own steps, does not (someone is typing).
    public var connection: ConnectionOptions
    public var stdinIsTerminal: Bool
    /// `$TERM`, for the pseudo-terminal.
    public var terminalType: String?

    public init(
        inventory: Inventory, target: ShellTarget, command: String?, terminal: TerminalChoice = .automatic,
        sudo: Bool = false, connection: ConnectionOptions, stdinIsTerminal: Bool, terminalType: String?
    ) {
        self.inventory = inventory
        self.target = target
        self.command = command
        self.terminal = terminal
        self.sudo = sudo
        self.connection = connection
        self.stdinIsTerminal = stdinIsTerminal
        self.terminalType = terminalType
    }

    /// What `target` is asked for. Sudo only with `--sudo` on a host whose settings use it (one
    /// logging in as root needs none); on a pseudo-terminal sudo asks there itself, so the host's
    /// password variable is not needed for it.
    func request(for target: StoreHost, access: HostAccess) throws(SSHError) -> ShellRequest {
        let pty = terminal.wantsTerminal(command: command != nil, stdinIsTerminal: stdinIsTerminal)
        var mode = SudoMode.none
        if sudo && target.host.ssh.sudo { mode = pty ? .passwordless : try access.sudo(for: target.host, in: target.store) }
        return ShellRequest(
            command: command, terminalType: pty ? (terminalType.flatMap { $0.isEmpty ? nil : $0 } ?? "xterm") : nil,
            sudo: mode, timeout: connection.commandTimeoutSeconds.map { .seconds($0) })
    }
}

public enum ShellError: PipelineError {
    case target(ShellTargetError)
    /// The host (or a gateway on its way, named in the message) could not be reached, or sudo refused.
    case ssh(SSHError, host: String)

    /// ssh's status for its own failures, apart from the remote command's.
    public var exitCode: Int32 { 255 }

    public var description: String {
        switch self {
        case let .target(error): error.description
        case let .ssh(error, host): "\(host): " + error.description(from: host)
        }
    }
}

/// Resolves the target, logs in (host-key rules and gateways as for every command: `HostAccess`),
/// sends `.warnings` before the session starts, runs it and returns how it ended.
public func runShell(_ options: ShellOptions, events: @escaping PipelineEvents) async throws(ShellError) -> ShellExit {
    let target: StoreHost
    do throws(ShellTargetError) {
        target = try options.target.resolve(in: options.inventory)
    } catch {
        throw .target(error)
    }
    let session = FleetSession(inventory: options.inventory, hosts: [target], connection: options.connection)
    do throws(SSHError) {
        let request = try options.request(for: target, access: session.access)
        let remote = try await session.connection(to: target.host, in: target.store)
        events(.warnings(session.client.warnings))
        guard let interactive = remote as? any InteractiveRemoteHost else {
            throw SSHError(.protocolError, hop: target.label, step: .exec, "this connection cannot run an interactive session")
        }
        let exit = try await interactive.interactive(request)
        await session.close()
        return exit
    } catch {
        await session.close()
        throw .ssh(error, host: target.label)
    }
}
