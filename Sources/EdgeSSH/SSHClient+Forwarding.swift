import Foundation

/// TCP forwarding for local proxies: connections carried through the same gateway sessions the
/// client uses for logins (one SSH connection per chain, a channel per forwarded connection).
extension SSHClient {
    /// A listening socket on this client's reactor.
    public nonisolated func listen(on address: String, port: Int) throws(SSHError) -> SocketListener {
        try SocketListener(address: address, port: port, reactor: reactor)
    }

    /// A connection to `address:port` as the last of `gateways` sees it, or straight from this
    /// machine when there are none. Errors name `label` and, for a broken chain, the hop that failed.
    /// A gateway session that turns out dead (the link was cut since its last use) is replaced
    /// once, so a restored link works again at the next connection; one that does not answer in
    /// time is dropped, so the next connection logs in again.
    public func forward(to address: String, port: Int, through gateways: [SSHHop], for label: String) async throws(SSHError) -> StreamSocket {
        let deadline = Deadline(options.connectTimeout)
        guard !gateways.isEmpty else {
            let endpoint = SSHHop(label: label, address: address, port: port, user: "", knownHostsFile: "")
            return StreamSocket(fd: try await TCPConnector.connect(endpoint, reactor: reactor, deadline: deadline), reactor: reactor)
        }
        for hop in gateways where hop.transport == .openssh {
            throw SSHError(.protocolError, hop: label, step: .connect,
                           "gateway \(hop.label) uses transport openssh, which cannot carry forwarded connections here",
                           hint: "use transport: libssh2 (the default) for the gateways of stores reached through edgeup's proxy")
        }
        var retried = false
        while true {
            let (connection, _) = try await gateway(gateways, for: label)
            guard case .libssh2(let session) = connection else {
                throw SSHError(.protocolError, hop: label, step: .connect, "unexpected gateway transport")
            }
            do throws(SSHError) {
                let fd = try await session.openTunnel(to: address, port: port, for: label, deadline: deadline)
                return StreamSocket(fd: fd, reactor: reactor)
            } catch where error.kind == .timeout {
                // The generic timeout speaks of logins; here a live session did not answer.
                throw SSHError(.timeout, hop: error.hop, step: .connect,
                               "no answer within \(options.connectTimeout) to a request for a connection to \(SSHHop.endpoint(address: address, port: port))",
                               hint: "the link to \(error.hop) may be cut; the next connection through it logs in again")
            } catch {
                guard !retried, await !session.isUsable else { throw error }
                retried = true
            }
        }
    }
}
