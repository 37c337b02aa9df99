/// `edgeup exec`: one shell command on every selected host.
public struct ExecOptions: Sendable {
    public var inventory: Inventory
    /// The selected stores, holding only the selected hosts (`StoreSelection` with a role).
    public var stores: [Store]
    /// The command line, as the remote shell reads it.
    public var command: String
    /// Run it through sudo, as each host's ssh settings say.
    public var sudo: Bool
    /// Hosts worked on at once.
    public var concurrency: Int
    public var connection: ConnectionOptions

    public init(
        inventory: Inventory, stores: [Store], command: String, sudo: Bool = false, concurrency: Int = 100,
        connection: ConnectionOptions
    ) {
        self.inventory = inventory
        self.stores = stores
        self.command = command
        self.sudo = sudo
        self.concurrency = concurrency
        self.connection = connection
    }
}

/// Each host's answer, in selection order.
public struct ExecResult: Sendable {
    public var results: [HostCommandResult]
    /// The signal that abandoned the remote commands, if one did.
    public var interruptedBy: Int32?

    public var failed: [HostCommandResult] { results.filter { !$0.succeeded } }

    /// 128 + the signal when interrupted, else 1 if any host failed, else 0.
    public var exitCode: Int32 {
        if let interruptedBy { return 128 + interruptedBy }
        return failed.isEmpty ? 0 : 1
    }
}

public enum ExecError: PipelineError, Equatable {
    /// The selection left no host (exit 1).
    case noHostMatches

    public var exitCode: Int32 { 1 }
    public var description: String { "no host matches the selection" }
}

/// Runs the command on every selected host in parallel. Sends each output line as `.output`,
/// `.interrupted` when a signal arrives (^C abandons the remote commands, their channels close, and
/// what each host said is still returned), then `.warnings`.
public func runExec(_ options: ExecOptions, events: @escaping PipelineEvents) async throws(ExecError) -> ExecResult {
    let hosts = StoreHost.all(in: options.stores)
    guard !hosts.isEmpty else { throw .noHostMatches }
    let session = FleetSession(inventory: options.inventory, hosts: hosts, connection: options.connection)
    let fanOut = CommandFanOut(session: session, concurrency: options.concurrency)
    let (command, sudo) = (options.command, options.sudo)
    let (results, interruption) = await Interruption.guarding(notice: { events(.interrupted($0)) }) {
        await fanOut.run(command, on: hosts, sudo: sudo) { target, stream, line in
            events(.output(target, stream, line))
        }
    }
    await session.close()
    events(.warnings(session.client.warnings))
    return ExecResult(results: results, interruptedBy: interruption.signalNumber)
}
