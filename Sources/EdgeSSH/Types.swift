import Foundation

/// How a hop's host key is checked against its known_hosts file.
public enum HostKeyPolicy: String, Sendable, Codable {
    /// The key must already be in known_hosts.
    case strict
    /// Unknown hosts are appended to known_hosts; a changed key still fails.
    case acceptNew = "accept-new"
    /// No check at all; `SSHClient.warnings` says so on every run.
    case insecureIgnore = "insecure-ignore"
}

public enum SSHTransportKind: String, Sendable, Codable {
    /// In-process, non-blocking libssh2: the fast default.
    case libssh2
    /// The system `ssh` binary with a ControlMaster per host: ssh_config, FIDO, RSA on old libssh2.
    case openssh
}

/// One machine to log in to.
public struct SSHHop: Sendable, Hashable {
    /// Names the hop in messages, e.g. "gw-eu" or "store-042/pi-042".
    public var label: String
    public var address: String
    public var port: Int
    public var user: String
    /// Absolute paths, tried in order before the agent.
    public var identityFiles: [String]
    /// Name of the environment variable holding the identity files' passphrase.
    public var passphraseEnv: String?
    /// Try the keys of the ssh-agent at `SSH_AUTH_SOCK` after the identity files.
    public var useAgent: Bool
    public var knownHostsFile: String
    public var hostKeyPolicy: HostKeyPolicy
    public var transport: SSHTransportKind
    /// The name of this hop's key in known_hosts, like OpenSSH's HostKeyAlias; nil: the plain
    /// OpenSSH name. Hops behind gateways need their route in it, as stores share LAN addresses.
    public var hostKeyAlias: String?

    public init(
        label: String, address: String, port: Int = 22, user: String,
        identityFiles: [String] = [], passphraseEnv: String? = nil, useAgent: Bool = true,
        knownHostsFile: String, hostKeyPolicy: HostKeyPolicy = .strict, transport: SSHTransportKind = .libssh2,
        hostKeyAlias: String? = nil
    ) {
        self.label = label
        self.address = address
        self.port = port
        self.user = user
        self.identityFiles = identityFiles
        self.passphraseEnv = passphraseEnv
        self.useAgent = useAgent
        self.knownHostsFile = knownHostsFile
        self.hostKeyPolicy = hostKeyPolicy
        self.transport = transport
        self.hostKeyAlias = hostKeyAlias
    }

    /// The name both transports look up in known_hosts and append with accept-new; lowercase,
    /// as OpenSSH lowercases host names and aliases before it looks them up.
    public var knownHostsName: String { (hostKeyAlias ?? Self.openSSHName(address: address, port: port)).lowercased() }

    /// The host name as OpenSSH writes it in known_hosts for a direct connection: `[host]:port` off port 22.
    public static func openSSHName(address: String, port: Int) -> String { port == 22 ? address : "[\(address)]:\(port)" }

    /// `address:port` as a URL or `ssh -W` writes it: an IPv6 address in brackets.
    public static func endpoint(address: String, port: Int) -> String {
        address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}

/// A host and the gateways (jump hosts) that lead to it, outermost first.
/// The gateways are driven with the host's transport.
public struct SSHTarget: Sendable, Hashable {
    public var gateways: [SSHHop]
    public var host: SSHHop
    /// Hosts of one group (a store) share `SSHClientOptions.uploadRatePerGroup`.
    public var uploadGroup: String?

    public init(host: SSHHop, gateways: [SSHHop] = [], uploadGroup: String? = nil) {
        self.host = host
        self.gateways = gateways
        self.uploadGroup = uploadGroup
    }
}

/// A secret value (sudo password, passphrase) that never prints.
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, Hashable {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

public enum SudoMode: Sendable, Hashable {
    case none
    /// `sudo -n`: fails clearly when sudo wants a password.
    case passwordless
    /// `sudo -S -p ''` with the password as stdin's first line, never in argv.
    case password(Secret)
}

public enum OutputChunk: Sendable {
    case stdout(Data)
    case stderr(Data)
}

public struct RemoteCommand: Sendable {
    /// A shell command line; build it with `ShellQuote`.
    public var command: String
    public var stdin: Data?
    public var sudo: SudoMode
    /// Defaults to `SSHClientOptions.defaultCommandTimeout`; `SSHClientOptions.commandTimeout` overrides it.
    public var timeout: Duration?
    /// Streams output as it arrives; it is collected in the result too.
    public var onOutput: (@Sendable (OutputChunk) -> Void)?

    public init(
        _ command: String, stdin: Data? = nil, sudo: SudoMode = .none, timeout: Duration? = nil,
        onOutput: (@Sendable (OutputChunk) -> Void)? = nil
    ) {
        self.command = command
        self.stdin = stdin
        self.sudo = sudo
        self.timeout = timeout
        self.onOutput = onOutput
    }
}

public struct CommandResult: Sendable {
    /// nil when the command was killed by a signal.
    public var exitStatus: Int32?
    /// Signal name without "SIG", e.g. "TERM".
    public var exitSignal: String?
    public var stdout: Data
    public var stderr: Data

    public init(exitStatus: Int32?, exitSignal: String?, stdout: Data, stderr: Data) {
        self.exitStatus = exitStatus
        self.exitSignal = exitSignal
        self.stdout = stdout
        self.stderr = stderr
    }

    public var succeeded: Bool { exitStatus == 0 && exitSignal == nil }
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

public enum UploadOutcome: Sendable, Equatable {
    case uploaded(bytes: Int)
    /// The remote file's sha256 already matched (its mode was corrected if needed).
    case unchanged
}

/// A logged-in host. Non-zero exits are results; transport failures, timeouts and sudo refusals throw.
public protocol RemoteHost: Sendable {
    var label: String { get }
    var transport: SSHTransportKind { get }
    func run(_ command: RemoteCommand) async throws(SSHError) -> CommandResult
    func upload(file: String, to remotePath: String, mode: UInt16, sudo: SudoMode) async throws(SSHError) -> UploadOutcome
    func upload(data: Data, to remotePath: String, mode: UInt16, sudo: SudoMode) async throws(SSHError) -> UploadOutcome
    func download(_ remotePath: String, sudo: SudoMode, maxBytes: Int) async throws(SSHError) -> Data
    func close() async
}

/// Asked for a key's passphrase when `passphraseEnv` does not supply one; nil means "none available".
public struct PassphraseRequest: Sendable {
    public var hopLabel: String
    public var keyFile: String
}

public typealias PassphraseProvider = @Sendable (PassphraseRequest) async -> Secret?

public struct SSHClientOptions: Sendable {
    /// TCP connect + handshake + host key + auth, per hop.
    public var connectTimeout: Duration
    /// For commands that set no limit of their own.
    public var defaultCommandTimeout: Duration
    /// The operator's limit for every remote command, replacing each command's own; nil: theirs.
    public var commandTimeout: Duration?
    /// Keepalive interval; zero disables.
    public var keepaliveInterval: Duration
    /// Keepalives in a row the host may leave unanswered before its connection counts as lost
    /// (OpenSSH's ServerAliveCountMax): how a dead host behind a gateway is noticed.
    public var keepaliveCountMax: Int
    /// Live host connections at once (gateways not counted); `connect` waits for a free slot.
    public var maxConcurrentConnections: Int
    /// In-flight handshakes through one gateway, below its sshd `MaxStartups`.
    public var maxHandshakesPerGateway: Int
    public var passphraseProvider: PassphraseProvider
    /// The `ssh` binary the openssh transport runs.
    public var sshExecutable: String
    /// Bytes per second all uploads together may send (nil: no limit); libssh2 transport only.
    public var uploadRate: Int?
    /// Bytes per second the uploads to one `SSHTarget.uploadGroup` may send.
    public var uploadRatePerGroup: Int?

    public init(
        connectTimeout: Duration = .seconds(20), defaultCommandTimeout: Duration = .seconds(600),
        commandTimeout: Duration? = nil,
        keepaliveInterval: Duration = .seconds(10), keepaliveCountMax: Int = 3, maxConcurrentConnections: Int = 1024,
        maxHandshakesPerGateway: Int = 8,
        passphraseProvider: @escaping PassphraseProvider = TerminalPassphrasePrompt.provider,
        sshExecutable: String = "/usr/bin/ssh"
    ) {
        self.connectTimeout = connectTimeout
        self.defaultCommandTimeout = defaultCommandTimeout
        self.commandTimeout = commandTimeout
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveCountMax = keepaliveCountMax
        self.maxConcurrentConnections = maxConcurrentConnections
        self.maxHandshakesPerGateway = maxHandshakesPerGateway
        self.passphraseProvider = passphraseProvider
        self.sshExecutable = sshExecutable
    }
}
