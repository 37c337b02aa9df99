import ArgumentParser
import EdgeupKit
import Foundation

struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Serve the stores' Kubernetes APIs on a local SOCKS5 proxy, through their gateway chains.",
        discussion: """
            The kubeconfig entries edgeup writes for stores behind gateways name the API \
            <context>.edgeup.invalid with proxy-url socks5://127.0.0.1:1080 (or $EDGEUP_PROXY), so \
            with this proxy running kubectl, k9s and client-go tools reach those stores; TLS is \
            still checked against each store's CA. The proxy opens each gateway chain once, at the \
            first connection that needs it, carries every connection through it, replaces it after \
            a cut link, and connects only to the stores' API ports. One line per connection on \
            stderr; runs until SIGINT or SIGTERM.

            Examples:
              edgeup proxy inventories/coffee-shops.yaml &
              kubectl --context store-ha get nodes
              EDGEUP_PROXY=127.0.0.1:7080 edgeup proxy inventories/coffee-shops.yaml
            """
    )

    @OptionGroup var inventory: InventoryArguments
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var timeouts: TimeoutOptions

    @Option(name: .long, help: ArgumentHelp(
        "Listen here instead of $EDGEUP_PROXY or 127.0.0.1:1080 (kubeconfig entries keep naming those).", valueName: "address:port"))
    var listen: String?

    func validate() throws {
        if let listen, ProxyAddress(parsing: listen) == nil {
            throw ValidationError("invalid --listen '\(listen)': use a numeric address and port, e.g. 127.0.0.1:1080 or [::1]:1080")
        }
    }

    func run() async throws {
        let inventory = try inventory.load()
        let options = ProxyOptions(
            inventory: inventory, stores: selection.selection().apply(to: inventory),
            listen: listen.flatMap(ProxyAddress.init(parsing:)), connection: timeouts.connection)
        let (outcome, _) = await Interruption.guarding(notice: { printError("edgeup proxy: \($0)") }, stopping: "closing connections") {
            () async -> Result<Void, AccessError> in
            do throws(AccessError) {
                try await runProxy(options, started: Self.announce) { connection in
                    printError("\(Self.timestamp()) \(connection)")
                }
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try await reportingFailures { try outcome.get() }
    }

    /// Where it listens, on stdout (scripts read it); which stores it serves, on stderr.
    @Sendable static func announce(_ start: ProxyStart) {
        FileHandle.standardOutput.write(Data("listening on socks5://\(start.address)\n".utf8))
        let proxied = start.routes.filter { !$0.via.isEmpty }
        printError("edgeup proxy: \(start.routes.count) store(s), \(proxied.count) behind gateways"
            + (proxied.isEmpty ? "" : ": " + proxied.prefix(5).map { "\($0.name) via \($0.via)" }.joined(separator: ", "))
            + (proxied.count > 5 ? ", …" : ""))
        if start.address.port != start.kubeconfigAddress.port || start.address.host != start.kubeconfigAddress.host {
            printError("edgeup proxy: note: kubeconfig entries point at \(start.kubeconfigAddress), not here; set \(ProxyAddress.environmentVariable)=\(start.address) for edgeup kubeconfig to match")
        }
    }

    static func timestamp() -> String {
        Date().formatted(.iso8601)
    }
}
