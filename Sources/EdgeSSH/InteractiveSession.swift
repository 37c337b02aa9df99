import EdgeCore
import Foundation

/// An operator's own session on one host, as `ssh` gives it: the login shell or one command, on
/// a pseudo-terminal or not, wired to this process's stdin, stdout and stderr.
public struct ShellRequest: Sendable {
    /// A shell command line (build it with `ShellQuote`); nil: the login shell.
    public var command: String?
    /// The terminal type (`$TERM`) of the pseudo-terminal to ask for, sized like the local
    /// terminal and resized with it; nil: none, stdout and stderr stay apart (`ssh -T`).
    public var terminalType: String?
    /// Without a pseudo-terminal, sudo runs exactly as under `RemoteHost.run` (`sudo -n`, or the
    /// password written only in answer to sudo's own prompt). On one, it is plain `sudo`
    /// (`sudo -i` for the shell), which asks on the terminal when it wants a password: the
    /// secret of `.password` is not typed in for the operator, because on a terminal that stream
    /// is also the shell's input and is echoed back when sudo did not ask after all.
    public var sudo: SudoMode
    /// nil: the session lasts as long as the remote side keeps it open.
    public var timeout: Duration?

    public init(command: String? = nil, terminalType: String? = nil, sudo: SudoMode = .none, timeout: Duration? = nil) {
        self.command = command
        self.terminalType = terminalType
        self.sudo = sudo
        self.timeout = timeout
    }

    /// What runs on a pseudo-terminal: nil for the login shell itself (a `shell` request).
    var terminalCommandLine: String? {
        guard sudo != .none else { return command }
        guard let command else { return "sudo -i" }
        return ShellQuote.command(["sudo", "--", "sh", "-c", command])
    }

    /// Without a pseudo-terminal, a shell under sudo is root's `sh` reading stdin.
    static let rootShellWithoutTerminal = "exec sh -l"
}

/// How a session ended.
public struct ShellExit: Sendable, Equatable {
    public var exitStatus: Int32?
    /// Signal name without "SIG", when the remote program was killed by one.
    public var exitSignal: String?
    /// The local signal (SIGINT, SIGTERM, SIGHUP) that ended the session early.
    public var interruptedBy: Int32?

    public init(exitStatus: Int32? = nil, exitSignal: String? = nil, interruptedBy: Int32? = nil) {
        self.exitStatus = exitStatus
        self.exitSignal = exitSignal
        self.interruptedBy = interruptedBy
    }

    /// The status to exit with, as a shell reports it: the remote status, else 128 + the
    /// signal's number (255 for a signal this system has no number for).
    public var code: Int32 {
        if let interruptedBy { return 128 + interruptedBy }
        if let exitSignal { return Self.signalNumbers[exitSignal].map { 128 + $0 } ?? 255 }
        return exitStatus ?? 255
    }

    private static let signalNumbers: [String: Int32] = [
        "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "ILL": SIGILL, "TRAP": SIGTRAP, "ABRT": SIGABRT,
        "BUS": SIGBUS, "FPE": SIGFPE, "KILL": SIGKILL, "USR1": SIGUSR1, "SEGV": SIGSEGV, "USR2": SIGUSR2,
        "PIPE": SIGPIPE, "ALRM": SIGALRM, "TERM": SIGTERM,
    ]
}

/// A host that can run an operator's interactive session (both transports' hosts can).
public protocol InteractiveRemoteHost: RemoteHost {
    /// Runs the session on this process's terminal or stdio until it ends; only one at a time
    /// per process, as it owns stdin, the terminal mode and the session's signals meanwhile.
    func interactive(_ request: ShellRequest) async throws(SSHError) -> ShellExit
}

/// The transport side of `InteractiveRemoteHost`.
protocol InteractiveTransport: Sendable {
    func interactive(_ request: ShellRequest) async throws(SSHError) -> ShellExit
}

extension SSHRemoteHost: InteractiveRemoteHost {
    func interactive(_ request: ShellRequest) async throws(SSHError) -> ShellExit {
        guard let transport = session as? any InteractiveTransport else {
            throw SSHError(.protocolError, hop: label, step: .exec, "this transport has no interactive sessions")
        }
        return try await transport.interactive(request)
    }
}
