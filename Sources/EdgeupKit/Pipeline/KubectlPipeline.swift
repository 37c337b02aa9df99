import EdgeSSH
import Foundation

/// `edgeup kubectl STORE -- ARGS`: the local kubectl against one store, with a tunnel that lives
/// for that command only.
public struct KubectlOptions: Sendable {
    public var inventory: Inventory
    public var store: String
    public var arguments: [String]
    public var connection: ConnectionOptions

    public init(inventory: Inventory, store: String, arguments: [String], connection: ConnectionOptions) {
        self.inventory = inventory
        self.store = store
        self.arguments = arguments
        self.connection = connection
    }
}

/// Fetches the store's kubeconfig over SSH (fresh credentials, nothing needed from earlier runs),
/// and for a store behind gateways serves its API on a private listener on 127.0.0.1 that the
/// kubeconfig's `proxy-url` names, through the same SSH connections. kubectl reads the kubeconfig
/// from a descriptor (`--kubeconfig /dev/fd/3`): the credentials never land in a file. Returns
/// kubectl's exit status; `notice` gets the tunnel's refused connections (which hop failed).
public func runKubectl(_ options: KubectlOptions, notice: @escaping @Sendable (String) -> Void) async throws(AccessError) -> Int32 {
    let store = try AccessError.store(named: options.store, in: options.inventory)
    let environment = options.connection.environment
    guard let kubectl = executable(named: "kubectl", path: environment["PATH"]) else { throw .kubectlNotFound }
    let access = HostAccess(inventory: options.inventory, environment: environment, homeDirectory: options.connection.homeDirectory)
    let servers = store.servers.map { StoreHost(store: store, host: $0) }
    let client = SSHClient(options: options.connection.clientOptions(for: servers))
    let session = FleetSession(access: access, connector: client)
    var tunnel: Task<Void, Never>?
    do throws(AccessError) {
        var proxy: ProxyAddress?
        if StoreRoute.needsProxy(store) {
            let listener: SocketListener
            do {
                listener = try client.listen(on: "127.0.0.1", port: 0)
            } catch {
                throw .listen(error.description)
            }
            proxy = ProxyAddress(host: "127.0.0.1", port: listener.port)
            let carrier = StoreProxy(routes: [StoreRoute(store: store, access: access)], client: client)
            tunnel = Task {
                await carrier.serve(listener) { connection in
                    if connection.failure != nil { notice("tunnel: \(connection)") }
                }
            }
        }
        let entry: StoreKubeconfig
        do {
            entry = try await KubeconfigFetcher(session: session).fetch(store, fleet: "edgeup-kubectl", proxy: proxy)
        } catch {
            throw .remote(error.description)
        }
        let status: Int32
        do {
            status = try await LocalCommand.run(
                kubectl, ["--kubeconfig", "/dev/fd/3"] + options.arguments, environment: environment,
                files: [(entry.yaml, 3)])
        } catch {
            throw .localProcess("cannot run \(kubectl): \(error)")
        }
        tunnel?.cancel()
        await tunnel?.value
        await session.close()
        return status
    } catch {
        tunnel?.cancel()
        await tunnel?.value
        await session.close()
        throw error
    }
}

/// The first executable `name` in `path` (colon-separated), as a shell finds it.
func executable(named name: String, path: String?) -> String? {
    (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map { "\($0)/\(name)" }
        .first { access($0, X_OK) == 0 }
}
