import EdgeSSH
import Foundation

/// A local SOCKS5 proxy that carries each connection to the store its name says (`StoreRoute`),
/// through that store's gateway chain, over the client's shared gateway sessions: one SSH
/// connection per chain, one channel per kubectl connection. It connects only to the stores' API
/// ports, so it is no open relay into the stores' LANs.
public final class StoreProxy: Sendable {
    /// By name, lowercase (host names are case-insensitive).
    private let routes: [String: StoreRoute]
    private let client: SSHClient
    /// How long a client may take to say where it wants to go.
    static let negotiationLimit: Duration = .seconds(10)

    public init(routes: [StoreRoute], client: SSHClient) {
        self.routes = Dictionary(routes.map { ($0.name.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
        self.client = client
    }

    /// Accepts and carries connections until the listener closes or the task is cancelled (which
    /// also ends the connections in flight); `log` gets one record per connection once it ended.
    public func serve(_ listener: SocketListener, log: @escaping @Sendable (ProxyConnection) -> Void) async {
        await withDiscardingTaskGroup { group in
            while let (socket, peer) = await listener.accept() {
                group.addTask { log(await self.carry(socket, from: peer)) }
            }
        }
    }

    /// One connection: negotiate, connect through the route, relay until either side ends.
    func carry(_ socket: StreamSocket, from peer: String) async -> ProxyConnection {
        let started = ContinuousClock.now
        var record = ProxyConnection(peer: peer)
        func finish(_ failure: String, reply: SOCKS5.Reply?) async -> ProxyConnection {
            if let reply { _ = await socket.write(SOCKS5.reply(reply), until: .now + .seconds(1)) }
            socket.close()
            record.failure = failure
            record.duration = ContinuousClock.now - started
            return record
        }
        let deadline = started + Self.negotiationLimit
        let request: SOCKS5.Request
        do throws(SOCKS5.Failure) {
            request = try await SOCKS5.negotiate(
                read: { await socket.read(exactly: $0, until: deadline) },
                write: { await socket.write($0, until: deadline) })
        } catch {
            return await finish(error.description, reply: error.reply)
        }
        record.target = SSHHop.endpoint(address: request.host, port: request.port)
        let route: StoreRoute
        switch self.route(for: request) {
        case let .success(found): route = found
        case let .failure(refusal): return await finish(refusal.description, reply: .notAllowed)
        }
        record.store = route.store
        var lastError: SSHError?
        for endpoint in route.endpoints {
            let upstream: StreamSocket
            do throws(SSHError) {
                upstream = try await client.forward(to: endpoint.address, port: route.port, through: endpoint.gateways, for: endpoint.label)
            } catch {
                lastError = error
                continue
            }
            record.endpoint = "\(endpoint.label) \(SSHHop.endpoint(address: endpoint.address, port: route.port))"
            record.via = endpoint.gateways.map(\.label)
            guard await socket.write(SOCKS5.reply(.succeeded), until: deadline) else {
                upstream.close()
                return await finish("the client left before the connection was made", reply: nil)
            }
            let counts = await socket.relay(with: upstream)
            record.sent = counts.sent
            record.received = counts.received
            record.duration = ContinuousClock.now - started
            return record
        }
        let error = lastError ?? SSHError(.connectFailed, hop: route.store, step: .connect, "the store has no server")
        return await finish(error.description, reply: Self.reply(for: error))
    }

    struct Refusal: Error, CustomStringConvertible {
        var description: String
    }

    /// The route a request names, or why the proxy will not connect there.
    func route(for request: SOCKS5.Request) -> Result<StoreRoute, Refusal> {
        let name = request.host.lowercased()
        guard request.isName, name.hasSuffix("." + StoreRoute.domain) else {
            return .failure(Refusal(description:
                "\(request.host) is not a store API: edgeup's proxy connects only to <store context>.\(StoreRoute.domain), as edgeup's kubeconfig entries name them"))
        }
        guard let route = routes[name] else {
            let context = String(name.dropLast(StoreRoute.domain.count + 1))
            if let byStoreName = routes.values.first(where: { $0.store.lowercased() == context }) {
                return .failure(Refusal(description: "store '\(byStoreName.store)' is served as \(byStoreName.name) (its kubeconfig context)"))
            }
            let known = routes.keys.map { String($0.dropLast(StoreRoute.domain.count + 1)) }.sorted()
            let suggestion = Suggestions.didYouMean(context, in: known).map { " (\($0))" } ?? ""
            return .failure(Refusal(description: "no store with context '\(context)' in the proxy's inventory\(suggestion)"))
        }
        guard request.port == route.port else {
            return .failure(Refusal(description: "port \(request.port) is not store \(route.store)'s API port \(route.port): the proxy opens no other port"))
        }
        return .success(route)
    }

    static func reply(for error: SSHError) -> SOCKS5.Reply {
        switch error.kind {
        case .connectRefused: .connectionRefused
        case .timeout: .hostUnreachable
        default: .generalFailure
        }
    }
}

/// One line of the proxy's log: who asked for what, which way it went, how much it carried.
/// Never a payload byte: the API traffic (tokens, secrets) is TLS the proxy cannot read anyway.
public struct ProxyConnection: Sendable, Hashable, CustomStringConvertible {
    public var peer: String
    /// What the client asked for (`store-ha.edgeup.invalid:6443`); empty when it never said.
    public var target = ""
    public var store: String?
    /// The server it reached: `store-ha/s1 192.168.50.10:6443`.
    public var endpoint: String?
    /// The gateways it went through, outermost first.
    public var via: [String] = []
    public var sent = 0
    public var received = 0
    public var duration: Duration = .zero
    public var failure: String?

    public var description: String {
        let seconds = String(format: "%.2f s", duration.seconds)
        if let failure {
            return "refused \(target.isEmpty ? "a connection" : target) from \(peer): \(failure) (\(seconds))"
        }
        let route = via.isEmpty ? "direct" : "via " + via.joined(separator: "/")
        return "\(store ?? "?") \(peer) → \(endpoint ?? "?") \(route): \(ByteText.size(sent)) sent, \(ByteText.size(received)) received, \(seconds)"
    }

}
