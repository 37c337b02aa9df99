import EdgeSSH

/// `edgeup proxy`: the selected stores' APIs behind one local SOCKS5 listener.
public struct ProxyOptions: Sendable {
    public var inventory: Inventory
    public var stores: [Store]
    /// Where to listen; nil: `EDGEUP_PROXY`, else 127.0.0.1:1080 — where the kubeconfig entries point.
    public var listen: ProxyAddress?
    public var connection: ConnectionOptions

    public init(inventory: Inventory, stores: [Store], listen: ProxyAddress? = nil, connection: ConnectionOptions) {
        self.inventory = inventory
        self.stores = stores
        self.listen = listen
        self.connection = connection
    }
}

/// What the proxy serves, once it listens.
public struct ProxyStart: Sendable {
    public var address: ProxyAddress
    public var routes: [StoreRoute]
    /// The address kubeconfig entries name, when it is not where this proxy listens.
    public var kubeconfigAddress: ProxyAddress
}

/// Listens, tells `started`, then carries connections until the task is cancelled; `log` gets one
/// record per connection. Gateway sessions are opened at the first connection that needs them,
/// shared by all connections through the same chain, and replaced when a link was cut.
public func runProxy(
    _ options: ProxyOptions, started: @Sendable (ProxyStart) -> Void,
    log: @escaping @Sendable (ProxyConnection) -> Void
) async throws(AccessError) {
    let configured: ProxyAddress
    do {
        configured = try ProxyAddress.configured(in: options.connection.environment)
    } catch {
        throw .listen(error.description)
    }
    let address = options.listen ?? configured
    let access = HostAccess(
        inventory: options.inventory, environment: options.connection.environment,
        homeDirectory: options.connection.homeDirectory)
    let servers = options.stores.flatMap { store in store.servers.map { StoreHost(store: store, host: $0) } }
    let client = SSHClient(options: options.connection.clientOptions(for: servers))
    let listener: SocketListener
    do {
        listener = try client.listen(on: address.host, port: address.port)
    } catch {
        await client.shutdown()
        throw .listen(error.description)
    }
    let routes = options.stores.filter { !$0.servers.isEmpty }.map { StoreRoute(store: $0, access: access) }
    started(ProxyStart(address: ProxyAddress(host: address.host, port: listener.port), routes: routes, kubeconfigAddress: configured))
    await StoreProxy(routes: routes, client: client).serve(listener, log: log)
    listener.close()
    await client.shutdown()
}
