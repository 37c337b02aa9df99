import EdgeSSH

/// The SSH side of one run: one client, one connection per host, reused by every step of the run
/// (facts, then apply) and closed together at the end.
public actor FleetSession {
    public nonisolated let access: HostAccess
    public nonisolated let client: SSHClient
    private var connections: [String: Task<Result<any RemoteHost, SSHError>, Never>] = [:]

    public init(access: HostAccess, options: SSHClientOptions) {
        self.access = access
        client = SSHClient(options: options)
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
