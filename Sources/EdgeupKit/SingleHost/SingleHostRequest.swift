import Foundation
import Yams

/// `edgeup install` / `edgeup join` flags, turned into a one-store inventory so a single machine
/// goes through exactly the same resolution, validation, plan and execution as a fleet.
public struct SingleHostRequest: Sendable {
    public var host: String
    public var user: String
    public var sshKey: String?
    public var sshPort: Int
    public var sudo: Bool?
    public var knownHosts: String
    public var hostKeyPolicy: String
    public var k3sVersion: String?
    public var k3sChannel: String?
    public var k3sBinary: String?
    public var tlsSANs: [String]
    public var extraArgs: String?
    public var context: String?

    public init(
        host: String, user: String, sshKey: String? = nil, sshPort: Int = 22, sudo: Bool? = nil,
        knownHosts: String = "~/.ssh/known_hosts", hostKeyPolicy: String = "strict", k3sVersion: String? = nil,
        k3sChannel: String? = nil, k3sBinary: String? = nil, tlsSANs: [String] = [], extraArgs: String? = nil,
        context: String? = nil
    ) {
        self.host = host
        self.user = user
        self.sshKey = sshKey
        self.sshPort = sshPort
        self.sudo = sudo
        self.knownHosts = knownHosts
        self.hostKeyPolicy = hostKeyPolicy
        self.k3sVersion = k3sVersion
        self.k3sChannel = k3sChannel
        self.k3sBinary = k3sBinary
        self.tlsSANs = tlsSANs
        self.extraArgs = extraArgs
        self.context = context
    }

    /// A store name for a machine given by address: `10.0.0.5` → `10-0-0-5`.
    public static func storeName(for host: String) -> String {
        let mapped = host.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        let trimmed = String(mapped).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        return String(trimmed.prefix(63)).isEmpty ? "k3s" : String(trimmed.prefix(63))
    }

    /// `edgeup install`: one server (SQLite), or the first server of an HA cluster (`cluster`).
    public func installInventory(cluster: Bool, loader: InventoryLoader) -> SingleHostInventory {
        let name = Self.storeName(for: context ?? host)
        return SingleHostInventory(
            loaded: load(store: name, datastore: cluster ? "etcd" : "sqlite", hosts: [(host, "server", nil)], loader: loader))
    }

    /// `edgeup join`: the server the cluster already has, and this machine as an agent or (HA)
    /// server; the machine is the store's second host, and the result's `joiner`.
    public func joinInventory(serverHost: String, serverUser: String?, asServer: Bool, loader: InventoryLoader) -> SingleHostInventory {
        let name = Self.storeName(for: context ?? serverHost)
        // Validated as server + agent (the inventory rules are about finished stores: an etcd store
        // grows through 2 servers on its way to 3), then the joiner becomes a server if asked.
        var result = load(
            store: name, datastore: "sqlite", hosts: [(serverHost, "server", serverUser), (host, "agent", nil)],
            loader: loader)
        if asServer, var inventory = result.inventory {
            inventory.stores[0].datastore = .etcd
            inventory.stores[0].hosts[1].role = .server
            result.inventory = inventory
        }
        return SingleHostInventory(loaded: result, joiner: result.inventory?.stores.first?.hosts.dropFirst().first?.name)
    }

    private func load(
        store: String, datastore: String, hosts: [(address: String, role: String, user: String?)], loader: InventoryLoader
    ) -> InventoryLoadResult {
        var ssh: [(Node, Node)] = [
            (Node("user"), Node(user)), (Node("port"), Node(String(sshPort), Tag(.int))),
            (Node("knownHostsFile"), Node(knownHosts)), (Node("hostKeyPolicy"), Node(hostKeyPolicy)),
        ]
        if let sshKey { ssh.append((Node("identityFile"), Node(sshKey))) }
        if let sudo { ssh.append((Node("sudo"), Node(sudo ? "true" : "false", Tag(.bool)))) }
        var k3s: [(Node, Node)] = []
        if let k3sVersion { k3s.append((Node("version"), Node(k3sVersion))) }
        if let k3sChannel { k3s.append((Node("channel"), Node(k3sChannel))) }
        if let k3sBinary { k3s.append((Node("binary"), Node(k3sBinary))) }
        var config: [ConfigEntry] = []
        if !tlsSANs.isEmpty { config.append(ConfigEntry("tls-san", .list(tlsSANs.map(ConfigValue.string)))) }
        if let extraArgs {
            do {
                config = ConfigValue.merge(config, try K3sExtraArgs.parse(extraArgs))
            } catch {
                return InventoryLoadResult(inventory: nil, diagnostics: [.error("--k3s-extra-args: \(error)", at: nil)])
            }
        }
        if !config.isEmpty { k3s.append((Node("config"), ConfigValue.map(config).yamlNode)) }
        let hostNodes = hosts.map { host -> Node in
            var pairs: [(Node, Node)] = [(Node("address"), Node(host.address)), (Node("role"), Node(host.role))]
            if let user = host.user { pairs.append((Node("ssh"), Node([(Node("user"), Node(user))]))) }
            return Node(pairs)
        }
        var storeNode: [(Node, Node)] = [
            (Node("name"), Node(store)), (Node("datastore"), Node(datastore)), (Node("hosts"), Node(hostNodes)),
        ]
        // `--context` may hold dots (a DNS subdomain) where a store name may not: the store takes the
        // label form, the kubeconfig the name as given, checked like an inventory's `context:`.
        if let context { storeNode.append((Node("context"), Node(context))) }
        let root = Node([
            (Node("defaults"), Node([(Node("ssh"), Node(ssh)), (Node("k3s"), Node(k3s))])),
            (Node("stores"), Node([Node(storeNode)])),
        ])
        let text = (try? Yams.serialize(node: root)) ?? ""
        // Relative paths in flags resolve against the working directory, as users expect.
        return loader.load(sources: [(path: "./(command-line flags)", text: text)])
    }
}
