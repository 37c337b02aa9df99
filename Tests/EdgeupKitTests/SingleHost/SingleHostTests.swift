import EdgeupKit
import Testing

@Suite struct SingleHostTests {
    let loader = InventoryLoader(homeDirectory: "/home/op", currentDirectory: "/work", fileExists: { _ in true })

    @Test func extraArgsBecomeConfigEntries() throws {
        let entries = try K3sExtraArgs.parse("--disable traefik --disable=servicelb --node-label 'zone=front door' --secrets-encryption --kubelet-arg \"max-pods=60\"")
        #expect(entries == [
            ConfigEntry("disable", .list([.string("traefik"), .string("servicelb")])),
            ConfigEntry("node-label", .string("zone=front door")),
            ConfigEntry("secrets-encryption", .bool(true)),
            ConfigEntry("kubelet-arg", .string("max-pods=60")),
        ])
        #expect(throws: K3sExtraArgs.Problem.self) { try K3sExtraArgs.parse("traefik") }
        #expect(throws: K3sExtraArgs.Problem.self) { try K3sExtraArgs.parse("--disable 'traefik") }
    }

    @Test func installBuildsAOneServerStore() throws {
        let request = SingleHostRequest(
            host: "10.0.0.5", user: "pi", sshKey: "keys/pi", k3sVersion: "v1.31.4+k3s1", tlsSANs: ["k3s.example.com"],
            extraArgs: "--disable traefik")
        let inventory = try request.installInventory(cluster: true, loader: loader).get()
        let store = try #require(inventory.stores.first)
        #expect(store.name == "10-0-0-5")
        #expect(store.datastore == .etcd)
        #expect(store.hosts.map(\.role) == [.server])
        #expect(store.hosts[0].ssh.user == "pi" && store.hosts[0].ssh.sudo)
        #expect(store.hosts[0].ssh.identityFile == "/work/keys/pi", "relative flags resolve against the working directory")
        #expect(store.k3s.version == "v1.31.4+k3s1")
        #expect(store.k3s.config.map(\.key) == ["tls-san", "disable"])
    }

    @Test func joinAddsTheMachineToTheServersStore() throws {
        let request = SingleHostRequest(host: "10.0.0.7", user: "pi", context: "shop")
        let agent = try request.joinInventory(serverHost: "10.0.0.5", serverUser: "admin", asServer: false, loader: loader).get()
        #expect(agent.stores[0].name == "shop")
        #expect(agent.stores[0].hosts.map(\.address) == ["10.0.0.5", "10.0.0.7"])
        #expect(agent.stores[0].hosts.map(\.role) == [.server, .agent])
        #expect(agent.stores[0].hosts[0].ssh.user == "admin")
        let server = try request.joinInventory(serverHost: "10.0.0.5", serverUser: nil, asServer: true, loader: loader).get()
        #expect(server.stores[0].datastore == .etcd)
        #expect(server.stores[0].hosts.map(\.role) == [.server, .server])
        let config = NodeConfig(for: server.stores[0].hosts[1], in: server.stores[0])
        #expect(config.entries.first { $0.key == "server" }?.value == .string("https://10.0.0.5:6443"))
    }

    @Test func badFlagsAreReportedLikeInventoryErrors() {
        let request = SingleHostRequest(host: "10.0.0.0/24", user: "pi", k3sVersion: "1.31")
        let result = request.installInventory(cluster: false, loader: loader)
        #expect(result.inventory == nil)
        let messages = result.errors.map(\.message)
        #expect(messages.contains { $0.contains("'10.0.0.0/24' is a network") })
        #expect(messages.contains { $0.contains("version '1.31' must start with 'v'") })
    }

    @Test func storeNamesFromAddresses() {
        #expect(SingleHostRequest.storeName(for: "10.0.0.5") == "10-0-0-5")
        #expect(SingleHostRequest.storeName(for: "Pi.Local") == "pi-local")
        #expect(SingleHostRequest.storeName(for: "fd00::1") == "fd00--1")
    }
}
