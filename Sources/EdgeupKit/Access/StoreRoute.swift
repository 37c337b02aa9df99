import EdgeSSH

/// How edgeup's proxy reaches one store's Kubernetes API.
///
/// Stores behind gateways reuse LAN ranges, so an address cannot say which store a connection is
/// for. Each store's API therefore has a name of its own, `<context>.edgeup.invalid`, that only the
/// proxy resolves: kubectl hands the name to the SOCKS5 proxy unresolved, the proxy picks the
/// store's gateway chain from it. `.invalid` is reserved (RFC 6761) and never resolves, so an entry
/// used without the proxy fails instead of reaching some other machine. TLS is still verified
/// against the store's own CA, for the address the server certificate names (`tls-server-name`).
public struct StoreRoute: Sendable, Hashable {
    /// One way to the API: a server as the last gateway of its chain sees it.
    public struct Endpoint: Sendable, Hashable {
        /// `store/host`, for messages.
        public var label: String
        public var address: String
        /// Outermost first; empty: reached from the operator's machine.
        public var gateways: [SSHHop]
    }

    public var store: String
    /// What kubectl connects to: `<context>.edgeup.invalid`.
    public var name: String
    /// The API port (k3s's `https-listen-port`, 6443 unless the store's config sets it): the only
    /// port the proxy opens on the store, so it is no way into the store's LAN at large.
    public var port: Int
    /// Tried in order: the servers, first server first (or the store's `apiEndpoint`).
    public var endpoints: [Endpoint]

    public static let domain = "edgeup.invalid"

    public init(store: Store, access: HostAccess) {
        self.store = store.name
        name = Self.name(for: store)
        port = Self.apiPort(of: store)
        if let endpoint = store.apiEndpoint {
            endpoints = [Endpoint(label: store.name, address: endpoint, gateways: [])]
        } else {
            endpoints = store.servers.map { server in
                Endpoint(label: "\(store.name)/\(server.name)", address: server.address,
                         gateways: access.target(for: server, in: store).gateways)
            }
        }
    }

    /// The name kubeconfig entries use for the store's API.
    public static func name(for store: Store) -> String { store.context + "." + domain }

    /// Whether the operator reaches the store's API only through edgeup's proxy: its first server is
    /// behind gateways and no `apiEndpoint` says how else to reach it.
    public static func needsProxy(_ store: Store) -> Bool {
        store.apiEndpoint == nil && !(store.firstServer?.gateways.isEmpty ?? true)
    }

    static func apiPort(of store: Store) -> Int {
        switch store.k3s.config.first(where: { $0.key == "https-listen-port" })?.value {
        case let .int(port)?: port
        case let .string(text)?: Int(text) ?? 6443
        default: 6443
        }
    }

    /// The gateways of the first endpoint, for messages (`bastion/gw-042`); empty when direct.
    public var via: String { endpoints.first.map { $0.gateways.map(\.label).joined(separator: "/") } ?? "" }
}
