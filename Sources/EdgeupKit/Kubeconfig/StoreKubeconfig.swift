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
    /// `apiEndpoint`, else its first server's address. A store only reachable through gateways
    /// (`StoreRoute.needsProxy`) is reached through edgeup's proxy at `proxy` instead: the server
    /// is the store's route name, and the certificate is still checked for the first server's
    /// address. `source` names the fetched file in errors (e.g. `pi-042:/etc/rancher/k3s/k3s.yaml`).
    public init(fetched text: String, source: String, store: Store, fleet: String, proxy: ProxyAddress = .standard)
        throws(KubeconfigError)
    {
        guard let host = Self.serverHost(for: store) else {
            throw KubeconfigError(
                .invalidFetched, path: source, "store '\(store.name)' has no server to point the kubeconfig at")
        }
        let proxied = StoreRoute.needsProxy(store)
        try self.init(
            fetched: text, source: source, context: store.context, serverHost: proxied ? StoreRoute.name(for: store) : host,
            owner: KubeconfigOwner(fleet: fleet, store: store.name),
            proxy: proxied ? KubeconfigProxy(url: proxy.url, serverName: host) : nil)
    }

    /// How an entry reaches its server through a proxy: kubectl's `proxy-url`, and the name the
    /// server certificate must carry (`tls-server-name`), since the URL's host is a route name.
    public struct KubeconfigProxy: Sendable, Hashable {
        public var url: String
        public var serverName: String
    }

    /// Rewrites a fetched k3s.yaml: the entries its `current-context` names (k3s calls all three
    /// `default`) become `context`, and the server URL's host becomes `serverHost`, keeping the scheme
    /// and port k3s wrote (a custom `https-listen-port` carries over).
    ///
    /// The file comes from a store, so it is untrusted: the entries are rebuilt from the fields k3s
    /// writes — server, CA data, client certificate and key data — and a file with any other field
    /// (`exec`, `token`, file paths, `proxy-url`, …) or with credentials that are not PEM of the right
    /// kind is refused, since kubectl would act on it on the operator's machine.
    public init(
        fetched text: String, source: String, context: String, serverHost: String, owner: KubeconfigOwner,
        proxy: KubeconfigProxy? = nil
    ) throws(KubeconfigError) {
        if let problem = Self.contextNameProblem(context) {
            throw KubeconfigError(
                .invalidName, path: source, "store '\(owner.store)': context name '\(context)' \(problem)",
                hint: Self.contextNameHint)
        }
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
        let check = FetchedEntryCheck(source: source, store: owner.store)
        let references = try check.fields(of: contextBody, "context '\(contextName)'", allowed: ["cluster", "user"])
        guard let clusterName = references["cluster"], let clusterBody = fetched.body(.clusters, named: clusterName)
        else { throw missing("cluster for context '\(contextName)'") }
        guard let userName = references["user"], let userBody = fetched.body(.users, named: userName) else {
            throw missing("user for context '\(contextName)'")
        }
        let cluster = try check.fields(
            of: clusterBody, "cluster '\(clusterName)'", allowed: ["server", "certificate-authority-data"])
        let user = try check.fields(of: userBody, "user '\(userName)'", allowed: ["client-certificate-data", "client-key-data"])

        guard let fetchedServer = cluster["server"] else { throw missing("server URL in cluster '\(clusterName)'") }
        guard let server = Self.rewrite(server: fetchedServer, host: serverHost) else {
            throw KubeconfigError(
                .invalidFetched, path: source, "server '\(fetchedServer)' is not an https URL with a numeric port")
        }

        // A data field as written: present, and PEM of its kind.
        func credential(_ field: String, of body: [String: String], in entry: String, _ kind: PEMKind)
            throws(KubeconfigError) -> (String, Node)
        {
            guard let value = body[field] else { throw missing("\(field) in \(entry)") }
            try check.pem(value, field: field, of: entry, kind: kind)
            return (field, Kubeconfig.string(value))
        }

        var document = Kubeconfig()
        var clusterFields = [
            try credential("certificate-authority-data", of: cluster, in: "cluster '\(clusterName)'", .certificates),
            ("server", Kubeconfig.string(server)),
        ]
        if let proxy {
            let bare = proxy.serverName.hasPrefix("[") ? String(proxy.serverName.dropFirst().dropLast()) : proxy.serverName
            clusterFields += [("proxy-url", Kubeconfig.string(proxy.url)), ("tls-server-name", Kubeconfig.string(bare))]
        }
        document.set(.clusters, named: context, body: owner.marking(Kubeconfig.mapping(clusterFields)))
        document.set(.users, named: context, body: owner.marking(Kubeconfig.mapping([
            try credential("client-certificate-data", of: user, in: "user '\(userName)'", .certificates),
            try credential("client-key-data", of: user, in: "user '\(userName)'", .privateKey),
        ])))
        document.set(.contexts, named: context, body: owner.marking(Kubeconfig.mapping([
            ("cluster", Kubeconfig.string(context)), ("user", Kubeconfig.string(context)),
        ])))
        document.currentContext = context

        self.owner = owner
        self.context = context
        self.server = server
        self.yaml = document.rendered()
    }

    /// Why `name` cannot name a kubeconfig context, or nil. A DNS subdomain (RFC 1123), as Kubernetes
    /// names are: the name also becomes a file name (`--no-merge` writes `<dir>/<context>.yaml`), and
    /// this rule leaves no room for `/`, `..` or shell and YAML syntax.
    public static func contextNameProblem(_ name: String) -> String? {
        Syntax.dnsSubdomainProblem(name)
    }

    public static let contextNameHint =
        "a context name is a DNS subdomain: at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, e.g. 'edge-store-042'"

    /// Where the operator reaches the store's API: `apiEndpoint`, else the first server's address.
    public static func serverHost(for store: Store) -> String? {
        store.apiEndpoint ?? store.firstServer?.address
    }

    /// `server` with its host replaced; IPv6 addresses go in brackets. Nil when `server` is not an
    /// https URL (k3s serves only TLS) or its port is not a number.
    static func rewrite(server: String, host: String) -> String? {
        guard server.hasPrefix("https://"), let schemeEnd = server.range(of: "://") else { return nil }
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
        if let port, port.isEmpty || !port.allSatisfy({ $0.isASCII && $0.isNumber }) { return nil }

        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let newHost = bare.contains(":") ? "[\(bare)]" : bare
        return server[..<schemeEnd.upperBound] + newHost + (port.map { ":\($0)" } ?? "") + rest
    }
}
