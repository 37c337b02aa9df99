/// Counts that tell a user at a glance what an inventory describes (`edgeup validate`).
public struct InventorySummary: Sendable, Hashable, Codable {
    public var files: [String]
    public var stores: Int
    public var sqliteStores: Int
    public var etcdStores: Int
    public var servers: Int
    public var agents: Int
    public var gateways: Int
    public var storesBehindGateways: Int

    public init(_ inventory: Inventory) {
        files = inventory.files
        stores = inventory.stores.count
        sqliteStores = inventory.stores.filter { $0.datastore == .sqlite }.count
        etcdStores = inventory.stores.filter { $0.datastore == .etcd }.count
        servers = inventory.stores.reduce(0) { $0 + $1.servers.count }
        agents = inventory.stores.reduce(0) { $0 + $1.agents.count }
        gateways = inventory.gateways.count
        storesBehindGateways = inventory.stores.filter { $0.via != nil }.count
    }

    public var text: String {
        "\(count(stores, "store")) (\(sqliteStores) sqlite, \(etcdStores) etcd), \(count(servers + agents, "host")) "
            + "(\(count(servers, "server")), \(count(agents, "agent"))), \(count(gateways, "gateway")); "
            + "\(storesBehindGateways) behind gateways"
    }

    private func count(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }
}
