import EdgeSSH
import EdgeupKit
import Testing

/// known_hosts names: a host reached through gateways is named by its route, so stores that reuse
/// one LAN range keep their keys apart; a host reached directly keeps its plain OpenSSH name.
@Suite struct HostAccessTests {
    static let fleet = """
        gateways:
          - {name: bastion-eu, address: 203.0.113.10}
          - {name: gw-041, address: 100.64.0.41, via: bastion-eu}
          - {name: gw-042, address: 100.64.0.42, via: bastion-eu, ssh: {port: 2200}}
          - {name: gw-lan, address: 198.51.100.7}
        stores:
          - name: store-041
            via: gw-041
            hosts: [{name: pi, address: 192.168.50.10, role: server}]
          - name: store-042
            via: gw-042
            hosts:
              - {name: pi, address: 192.168.50.10, role: server}
              - {name: nuc, address: 192.168.50.11, role: agent, ssh: {port: 2222}}
          - name: store-043
            via: gw-lan
            hosts: [{name: pi, address: 192.168.50.10, role: server}]
          - name: direct
            hosts:
              - {name: a, address: 10.0.0.5, role: server}
              - {name: b, address: 10.0.0.6, role: agent, ssh: {port: 2222}}
        """

    func targets() throws -> [String: SSHTarget] {
        let inventory = try load(Self.fleet).get()
        let access = HostAccess(inventory: inventory, environment: [:], homeDirectory: "/home/op")
        var targets: [String: SSHTarget] = [:]
        for store in inventory.stores {
            for host in store.hosts { targets["\(store.name)/\(host.name)"] = access.target(for: host, in: store) }
        }
        return targets
    }

    @Test func gatewayReachedHostsAreNamedByTheirRoute() throws {
        let targets = try targets()
        #expect(targets["store-041/pi"]?.host.knownHostsName == "bastion-eu/gw-041/192.168.50.10")
        #expect(targets["store-042/pi"]?.host.knownHostsName == "bastion-eu/gw-042/192.168.50.10")
        #expect(targets["store-042/nuc"]?.host.knownHostsName == "bastion-eu/gw-042/[192.168.50.11]:2222")
        #expect(targets["store-043/pi"]?.host.knownHostsName == "gw-lan/192.168.50.10")
        let names = ["store-041/pi", "store-042/pi", "store-043/pi"].compactMap { targets[$0]?.host.knownHostsName }
        #expect(Set(names).count == 3, "one address behind three gateways is three hosts")
    }

    @Test func gatewaysAreNamedByTheirOwnRoute() throws {
        let chain = try #require(try targets()["store-042/nuc"]).gateways
        #expect(chain.map(\.label) == ["bastion-eu", "gw-042"])
        #expect(chain.map(\.knownHostsName) == ["203.0.113.10", "bastion-eu/[100.64.0.42]:2200"])
        #expect(chain[0].hostKeyAlias == nil, "a gateway reached directly keeps its plain name")
        #expect(try targets()["store-043/pi"]?.gateways.map(\.knownHostsName) == ["198.51.100.7"])
    }

    @Test func directHostsKeepThePlainOpenSSHName() throws {
        let targets = try targets()
        #expect(targets["direct/a"]?.host.hostKeyAlias == nil)
        #expect(targets["direct/a"]?.host.knownHostsName == "10.0.0.5")
        #expect(targets["direct/b"]?.host.knownHostsName == "[10.0.0.6]:2222")
        #expect(HostAccess.hostKeyAlias(route: [], address: "10.0.0.5", port: 22) == nil)
        #expect(HostAccess.hostKeyAlias(route: ["gw"], address: "fd00::5", port: 2222) == "gw/[fd00::5]:2222")
    }

    @Test func singleHostInstallAndJoinStayPlain() throws {
        let loader = InventoryLoader(homeDirectory: "/home/op", currentDirectory: "/work", fileExists: { _ in true })
        let request = SingleHostRequest(host: "10.0.0.7", user: "pi", sshPort: 2222)
        let inventory = try request.joinInventory(serverHost: "10.0.0.5", serverUser: nil, asServer: false, loader: loader).get()
        let access = HostAccess(inventory: inventory, environment: [:], homeDirectory: "/home/op")
        let store = try #require(inventory.stores.first)
        #expect(store.hosts.map { access.target(for: $0, in: store).host.knownHostsName } == ["[10.0.0.5]:2222", "[10.0.0.7]:2222"])
    }
}
