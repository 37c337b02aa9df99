@testable import EdgeupKit
import Testing

/// Routing by store, not by address: stores behind gateways share LAN ranges.
@Suite struct AccessTests {
    static let inventoryText = """
        gateways:
          - {name: bastion, address: 10.0.0.1}
          - {name: far-gw, address: 172.30.1.2, via: bastion}
          - {name: near-gw, address: 10.0.0.3}
        stores:
          - name: direct
            hosts: [{address: 10.0.0.2, role: server}]
          - name: far
            via: far-gw
            k3s: {config: {https-listen-port: 16443}}
            hosts: [{name: s1, address: 192.168.50.11, role: server}]
          - name: near
            via: near-gw
            context: cafe-near
            datastore: etcd
            hosts:
              - {name: s1, address: 192.168.50.11, role: server}
              - {name: s2, address: 192.168.50.12, role: server}
              - {name: s3, address: 192.168.50.13, role: server}
          - name: mapped
            via: near-gw
            apiEndpoint: 10.9.0.1
            hosts: [{address: 192.168.50.20, role: server}]
        """

    static func inventory() throws -> Inventory { try load(inventoryText).get() }

    static func routes() throws -> [String: StoreRoute] {
        let inventory = try inventory()
        let access = HostAccess(inventory: inventory, environment: [:], homeDirectory: "/nonexistent")
        return Dictionary(uniqueKeysWithValues: inventory.stores.map { ($0.name, StoreRoute(store: $0, access: access)) })
    }

    @Test func eachStoreBehindGatewaysHasItsOwnRouteNameAndChain() throws {
        let routes = try Self.routes()
        let far = try #require(routes["far"])
        #expect(far.name == "far.edgeup.invalid")
        #expect(far.port == 16443, "https-listen-port is the API port")
        #expect(far.endpoints.map(\.address) == ["192.168.50.11"])
        #expect(far.endpoints[0].gateways.map(\.label) == ["bastion", "far-gw"])
        #expect(far.endpoints[0].gateways[1].hostKeyAlias == "bastion/172.30.1.2", "the gateway's key is checked under its route")

        let near = try #require(routes["near"])
        #expect(near.name == "cafe-near.edgeup.invalid", "named by the context, as the kubeconfig entry is")
        #expect(near.port == 6443)
        #expect(near.endpoints.map(\.address) == ["192.168.50.11", "192.168.50.12", "192.168.50.13"], "first server first, then the others")
        #expect(near.endpoints.allSatisfy { $0.gateways.map(\.label) == ["near-gw"] })

        #expect(routes["direct"]?.endpoints.map(\.gateways.isEmpty) == [true])
        #expect(routes["mapped"]?.endpoints.map(\.address) == ["10.9.0.1"], "apiEndpoint: the operator says how to reach it")
    }

    @Test func onlyStoresReachedSolelyThroughGatewaysNeedTheProxy() throws {
        let inventory = try Self.inventory()
        #expect(inventory.stores.filter(StoreRoute.needsProxy).map(\.name) == ["far", "near"])
    }

    @Test func kubeconfigEntriesOfProxiedStoresNameTheRouteAndKeepCheckingTheCertificate() throws {
        let inventory = try Self.inventory()
        let near = try StoreKubeconfig(
            fetched: k3sYAML(), source: "k3s.yaml", store: try #require(inventory.store(named: "near")), fleet: "f",
            proxy: ProxyAddress(host: "127.0.0.1", port: 7080))
        #expect(near.server == "https://cafe-near.edgeup.invalid:6443")
        let cluster = try #require(try entry("clusters", "cafe-near", in: near.yaml)?["cluster"])
        #expect(cluster["proxy-url"]?.string == "socks5://127.0.0.1:7080")
        #expect(cluster["tls-server-name"]?.string == "192.168.50.11", "TLS is checked for the first server's address")
        #expect(cluster["insecure-skip-tls-verify"] == nil)
        #expect(cluster["certificate-authority-data"]?.string == testCA)

        let direct = try StoreKubeconfig(
            fetched: k3sYAML(), source: "k3s.yaml", store: try #require(inventory.store(named: "direct")), fleet: "f")
        let directCluster = try #require(try entry("clusters", "direct", in: direct.yaml)?["cluster"])
        #expect(direct.server == "https://10.0.0.2:6443")
        #expect(directCluster["proxy-url"] == nil && directCluster["tls-server-name"] == nil, "direct stores are unchanged")
    }

    @Test func proxyAddressParsing() throws {
        #expect(ProxyAddress(parsing: "127.0.0.1:1080") == ProxyAddress(host: "127.0.0.1", port: 1080))
        #expect(ProxyAddress(parsing: "[::1]:7080") == ProxyAddress(host: "::1", port: 7080))
        #expect(ProxyAddress(host: "::1", port: 7080).url == "socks5://[::1]:7080")
        for bad in ["localhost:1080", "127.0.0.1", "127.0.0.1:99999", ":1080", "::1:1080", "127.0.0.1:x"] {
            #expect(ProxyAddress(parsing: bad) == nil, "\(bad)")
        }
        #expect(try ProxyAddress.configured(in: [:]) == .standard)
        #expect(try ProxyAddress.configured(in: ["EDGEUP_PROXY": "127.0.0.2:7000"]) == ProxyAddress(host: "127.0.0.2", port: 7000))
        #expect(throws: ProxyAddressError.self) { try ProxyAddress.configured(in: ["EDGEUP_PROXY": "proxy.example:1080"]) }
    }

    @Test func theProxyConnectsOnlyToStoreAPIs() async throws {
        let routes = try Self.routes()
        let proxy = StoreProxy(routes: Array(routes.values), client: .init())
        func refusal(_ host: String, _ port: Int, name: Bool = true) -> String? {
            if case let .failure(refusal) = proxy.route(for: SOCKS5.Request(host: host, port: port, isName: name)) { return refusal.description }
            return nil
        }
        guard case let .success(route) = proxy.route(for: SOCKS5.Request(host: "Cafe-Near.edgeup.invalid", port: 6443, isName: true)) else {
            Issue.record("a store's route name, in any case, is served")
            return
        }
        #expect(route.store == "near")
        #expect(refusal("192.168.50.11", 6443, name: false)?.contains("is not a store API") == true, "an address says nothing of the store")
        #expect(refusal("example.com", 443)?.contains("is not a store API") == true, "no open relay")
        #expect(refusal("near.edgeup.invalid", 6443) == "store 'near' is served as cafe-near.edgeup.invalid (its kubeconfig context)")
        #expect(refusal("fat.edgeup.invalid", 16443) == "no store with context 'fat' in the proxy's inventory (did you mean 'far'?)")
        #expect(refusal("far.edgeup.invalid", 22)?.contains("port 22 is not store far's API port 16443") == true, "only the API port")
    }
}

/// The SOCKS5 exchange kubectl (client-go) has with the proxy.
@Suite struct SOCKS5Tests {
    /// Feeds `input` to `negotiate` and collects what it writes.
    final class Conversation: @unchecked Sendable {
        var input: [UInt8]
        var written: [[UInt8]] = []
        init(_ input: [UInt8]) { self.input = input }

        func negotiate() async throws(SOCKS5.Failure) -> SOCKS5.Request {
            try await SOCKS5.negotiate(
                read: { count in
                    guard self.input.count >= count else { return nil }
                    defer { self.input.removeFirst(count) }
                    return Array(self.input.prefix(count))
                },
                write: { bytes in
                    self.written.append(bytes)
                    return true
                })
        }
    }

    static let greeting: [UInt8] = [5, 1, 0]

    @Test func connectByNameAsClientGoSendsIt() async throws {
        let name = Array("store-ha.edgeup.invalid".utf8)
        let talk = Conversation(Self.greeting + [5, 1, 0, 3, UInt8(name.count)] + name + [0x19, 0x2B])
        let request = try await talk.negotiate()
        #expect(request == SOCKS5.Request(host: "store-ha.edgeup.invalid", port: 6443, isName: true))
        #expect(talk.written == [[5, 0]], "no authentication chosen; the request's reply is the caller's")
        #expect(SOCKS5.reply(.succeeded) == [5, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    }

    @Test func connectByAddress() async throws {
        let v4 = try await Conversation(Self.greeting + [5, 1, 0, 1, 192, 168, 50, 11, 0x19, 0x2B]).negotiate()
        #expect(v4 == SOCKS5.Request(host: "192.168.50.11", port: 6443, isName: false))
        let v6 = try await Conversation(Self.greeting + [5, 1, 0, 4, 0xfd, 0, 0, 0x42] + [UInt8](repeating: 0, count: 11) + [1, 0, 80]).negotiate()
        #expect(v6 == SOCKS5.Request(host: "fd00:42:0:0:0:0:0:1", port: 80, isName: false))
    }

    @Test func refusals() async throws {
        await #expect(throws: SOCKS5.Failure(description: "not a SOCKS5 client (version byte 4); use socks5:// in proxy-url")) {
            try await Conversation([4, 1, 0x19, 0x2B]).negotiate()
        }
        let withPasswordOnly = Conversation([5, 1, 2])
        await #expect(throws: SOCKS5.Failure.self) { try await withPasswordOnly.negotiate() }
        #expect(withPasswordOnly.written == [[5, 0xFF]], "no acceptable method")
        do {
            _ = try await Conversation(Self.greeting + [5, 2, 0, 1, 10, 0, 0, 1, 0, 80]).negotiate()
            Issue.record("BIND is refused")
        } catch {
            #expect(error.reply == .commandNotSupported)
        }
        do {
            _ = try await Conversation(Self.greeting + [5, 1, 0, 9]).negotiate()
            Issue.record("an unknown address type is refused")
        } catch {
            #expect(error.reply == .addressTypeNotSupported)
        }
        await #expect(throws: SOCKS5.Failure.self, "a request cut short") {
            try await Conversation(Self.greeting + [5, 1, 0, 3, 20, 65]).negotiate()
        }
    }
}
