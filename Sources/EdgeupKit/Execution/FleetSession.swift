import EdgeSSH

/// Opens logins to hosts: `SSHClient` in a run; a seam so execution can be tested without a network.
public protocol HostConnector: Sendable {
    /// Loud notices the CLI must print (see `SSHClient.warnings`).
    var warnings: [String] { get }
    /// Bytes uploads sent so far (see `SSHClient.bytesUploaded`).
    var bytesUploaded: Int { get }
    func connect(_ target: SSHTarget) async throws(SSHError) -> any RemoteHost
    func shutdown() async
}

extension SSHClient: HostConnector {}

/// The SSH side of one run: one client, one connection per host, reused by every step of the run
/// (facts, then apply) and closed together at the end.
public actor FleetSession {
    public nonisolated let access: HostAccess
    public nonisolated let client: any HostConnector
    private var connections: [String: Task<Result<any RemoteHost, SSHError>, Never>] = [:]

    public init(access: HostAccess, options: SSHClientOptions) {
        self.init(access: access, connector: SSHClient(options: options))
    }

    public init(access: HostAccess, connector: any HostConnector) {
        self.access = access
        client = connector
    }

    /// The host's connection, opened on first use; concurrent callers share one attempt.
    public func connection(to host: Host, in store: Store) async throws(SSHError) -> any RemoteHost {
        let key = store.name + "/" + host.name
        if connections[key] == nil {
            let target = access.target(for: host, in: store)
            let client = client
            connections[key] = Task {
                do throws(SSHError) {
                    return .success(try await client.connect(target))
                } catch {
                    return .failure(error)
                }
            }
        }
        guard let attempt = connections[key] else { preconditionFailure("connection attempt was just stored") }
        let result = await attempt.value
        if case .failure = result { connections[key] = nil }
        return try result.get()
    }

    /// Drops a connection (after the host rebooted or the link broke) so the next use reconnects.
    public func forget(_ host: Host, in store: Store) async {
        let key = store.name + "/" + host.name
        if let attempt = connections.removeValue(forKey: key), case let .success(remote) = await attempt.value {
            await remote.close()
        }
    }

    public func close() async {
        for attempt in connections.values {
            if case let .success(remote) = await attempt.value { await remote.close() }
        }
        connections = [:]
        await client.shutdown()
    }
}
