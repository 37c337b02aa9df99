import EdgeSSH

/// How edgeup logs in to one machine, after defaults, store and host settings are layered.
public struct SSHSettings: Sendable, Hashable, Codable {
    public var user: String
    public var port: Int
    /// Absolute path; nil means the usual ~/.ssh keys that exist, then the agent.
    public var identityFile: String?
    public var knownHostsFile: String
    public var hostKeyPolicy: HostKeyPolicy
    public var sudo: Bool
    public var transport: SSHTransportKind
    /// Name of the environment variable holding the identity file's passphrase (never the passphrase).
    public var passphraseEnv: String?
    /// Name of the environment variable holding the sudo password (never the password).
    public var sudoPasswordEnv: String?
    public var useAgent: Bool
    public var connectTimeoutSeconds: Int
    /// Limit for each remote command; nil: each step's own (e.g. 60 s for the facts probe).
    public var commandTimeoutSeconds: Int?

    public init(
        user: String,
        port: Int = 22,
        identityFile: String? = nil,
        knownHostsFile: String,
        hostKeyPolicy: HostKeyPolicy = .strict,
        sudo: Bool,
        transport: SSHTransportKind = .libssh2,
        passphraseEnv: String? = nil,
        sudoPasswordEnv: String? = nil,
        useAgent: Bool = true,
        connectTimeoutSeconds: Int = 10,
        commandTimeoutSeconds: Int? = nil
    ) {
        self.user = user
        self.port = port
        self.identityFile = identityFile
        self.knownHostsFile = knownHostsFile
        self.hostKeyPolicy = hostKeyPolicy
        self.sudo = sudo
        self.transport = transport
        self.passphraseEnv = passphraseEnv
        self.sudoPasswordEnv = sudoPasswordEnv
        self.useAgent = useAgent
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.commandTimeoutSeconds = commandTimeoutSeconds
    }
}
