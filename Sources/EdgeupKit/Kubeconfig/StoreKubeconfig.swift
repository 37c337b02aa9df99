import Yams

/// One store's kubeconfig, ready to merge: the k3s.yaml fetched from its first server with cluster,
/// user and context renamed from `default` to the store's context name, the server pointed at an
/// address the operator can reach, the CA and client credentials kept, and every entry marked as
/// edgeup's (`KubeconfigOwner`).
///
/// Held as text — a standalone kubeconfig with just this store, `current-context` set — so it can
/// cross tasks (fetches run in parallel) and is exactly what `--no-merge` writes to `<dir>/<context>.yaml`.
public struct StoreKubeconfig: Sendable, Hashable {
    public var owner: KubeconfigOwner
    /// The name of the cluster, the user and the context.
    public var context: String
    /// The rewritten API server URL.
    public var server: String
    /// The standalone kubeconfig.
    public var yaml: String

    /// Rewrites a fetched k3s.yaml for a store of the inventory: the server becomes the store's
    /// `apiEndpoint`, else its first server's address. `source` names the fetched file in errors
    /// (e.g. `pi-042:/etc/rancher/k3s/k3s.yaml`).
    public init(fetched text: String, source: String, store: Store, fleet: String) throws(KubeconfigError) {
        guard let host = Self.serverHost(for: store) else {
            throw KubeconfigError(
                .invalidFetched, path: source, "store '\(store.name)' has no server to point the kubeconfig at")
        }
        try self.init(
            fetched: text, source: source, context: store.context, serverHost: host,
            owner: KubeconfigOwner(fleet: fleet, store: store.name))
    }

    /// Rewrites a fetched k3s.yaml: the entries its `current-context` names (k3s calls all three
    /// `default`) become `context`, and the server URL's host becomes `serverHost`, keeping the scheme
    /// and port k3s wrote (a custom `https-listen-port` carries over).
    public init(
        fetched text: String, source: String, context: String, serverHost: String, owner: KubeconfigOwner
    ) throws(KubeconfigError) {
        let fetched = try Kubeconfig(parsing: text, path: source)
        func missing(_ what: String) -> KubeconfigError {
            KubeconfigError(
                .invalidFetched, path: source, "has no \(what)",
                hint: "k3s writes cluster, user and context 'default'; is this the server's k3s.yaml?")
        }
        // Follow the references rather than assume `default`: the context says which cluster and user.
        let contextName = fetched.currentContext ?? (fetched.names(.contexts).count == 1 ? fetched.names(.contexts)[0] : nil)
        guard let contextName, let contextBody = fetched.body(.contexts, named: contextName) else {
            throw missing("current context")
        }
        guard let clusterName = contextBody["cluster"]?.string, var cluster = fetched.body(.clusters, named: clusterName)?.mapping
        else { throw missing("cluster for context '\(contextName)'") }
        guard let userName = contextBody["user"]?.string, let user = fetched.body(.users, named: userName) else {
            throw missing("user for context '\(contextName)'")
        }
        guard let fetchedServer = cluster["server"]?.string else { throw missing("server URL in cluster '\(clusterName)'") }
        guard let server = Self.rewrite(server: fetchedServer, host: serverHost) else {
            throw KubeconfigError(.invalidFetched, path: source, "server '\(fetchedServer)' is not a URL")
        }
        cluster[Node("server")] = Kubeconfig.string(server)

        var contextMapping = contextBody.mapping ?? Node.Mapping([])
        contextMapping[Node("cluster")] = Kubeconfig.string(context)
        contextMapping[Node("user")] = Kubeconfig.string(context)

        var document = Kubeconfig()
        document.set(.clusters, named: context, body: owner.marking(.mapping(cluster)))
        document.set(.users, named: context, body: owner.marking(user))
        document.set(.contexts, named: context, body: owner.marking(.mapping(contextMapping)))
        document.currentContext = context

        self.owner = owner
        self.context = context
        self.server = server
        self.yaml = document.rendered()
    }

    /// Where the operator reaches the store's API: `apiEndpoint`, else the first server's address.
    public static func serverHost(for store: Store) -> String? {
        store.apiEndpoint ?? store.firstServer?.address
    }

    /// `server` with its host replaced; IPv6 addresses go in brackets. Nil when `server` is not a URL.
    static func rewrite(server: String, host: String) -> String? {
        guard let schemeEnd = server.range(of: "://") else { return nil }
        let afterScheme = server[schemeEnd.upperBound...]
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let rest = afterScheme.dropFirst(authority.count)
        let hostAndPort = authority
        guard !hostAndPort.isEmpty, !hostAndPort.contains("@") else { return nil }

        // The port follows the last ':' after the host — after ']' for a bracketed IPv6 host.
        var port: Substring?
        if hostAndPort.hasPrefix("[") {
            guard let close = hostAndPort.firstIndex(of: "]") else { return nil }
            let tail = hostAndPort[hostAndPort.index(after: close)...]
            if tail.hasPrefix(":") { port = tail.dropFirst() }
        } else if let colon = hostAndPort.lastIndex(of: ":") {
            port = hostAndPort[hostAndPort.index(after: colon)...]
        }

        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let newHost = bare.contains(":") ? "[\(bare)]" : bare
        return server[..<schemeEnd.upperBound] + newHost + (port.map { ":\($0)" } ?? "") + rest
    }
}
