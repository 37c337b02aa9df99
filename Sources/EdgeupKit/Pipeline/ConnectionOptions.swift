import EdgeSSH

/// How a pipeline reaches its hosts: the local environment (`~`, `$SSH_AUTH_SOCK`, passphrase and
/// sudo variables) and the operator's time limits, which override the inventory's.
public struct ConnectionOptions: Sendable, Hashable {
    /// Seconds to reach and log in to each host (per hop); nil: the hosts' `ssh.connectTimeout`, else 10.
    public var connectTimeoutSeconds: Int?
    /// Seconds any remote command may run; nil: the hosts' `ssh.commandTimeout`, else each step's own limit.
    public var commandTimeoutSeconds: Int?
    public var environment: [String: String]
    public var homeDirectory: String
    /// Bytes per second all uploads of the run may send together, and each store's (nil: no cap).
    public var uploadRate: Int?
    public var uploadRatePerStore: Int?

    public init(
        connectTimeoutSeconds: Int? = nil, commandTimeoutSeconds: Int? = nil, environment: [String: String],
        homeDirectory: String
    ) {
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.commandTimeoutSeconds = commandTimeoutSeconds
        self.environment = environment
        self.homeDirectory = homeDirectory
    }

    /// The client's limits: the override, else the longest the hosts' settings ask for (one
    /// client serves them all).
    public func clientOptions(for hosts: [StoreHost]) -> SSHClientOptions {
        let connect = connectTimeoutSeconds ?? hosts.map(\.host.ssh.connectTimeoutSeconds).max() ?? 10
        let command = commandTimeoutSeconds ?? hosts.compactMap(\.host.ssh.commandTimeoutSeconds).max()
        var options = SSHClientOptions(connectTimeout: .seconds(connect), commandTimeout: command.map { .seconds($0) })
        options.uploadRate = uploadRate
        options.uploadRatePerGroup = uploadRatePerStore
        return options
    }
}

extension FleetSession {
    /// The session for `hosts` of `inventory`, with the limits `connection` and the hosts ask for.
    public init(inventory: Inventory, hosts: [StoreHost], connection: ConnectionOptions) {
        let access = HostAccess(
            inventory: inventory, environment: connection.environment, homeDirectory: connection.homeDirectory)
        self.init(access: access, options: connection.clientOptions(for: hosts))
    }
}
