import EdgeupKit
import Testing
import Yams

/// Turning a fetched k3s.yaml into one store's entries: names, server URL, credentials, ownership.
@Suite struct StoreKubeconfigTests {
    @Test func renamesEverythingAndKeepsCredentials() throws {
        let store = try storeKubeconfig("store-042", host: "10.42.0.10", fetched: k3sYAML())
        #expect(store.context == "store-042")
        #expect(store.server == "https://10.42.0.10:6443")
        let yaml = store.yaml
        for section in ["clusters", "users", "contexts"] {
            #expect(try names(section, in: yaml) == ["store-042"], "\(section) renamed, nothing named default left")
        }
        let cluster = try #require(try entry("clusters", "store-042", in: yaml)?["cluster"])
        #expect(cluster["server"]?.string == "https://10.42.0.10:6443")
        #expect(cluster["certificate-authority-data"]?.string == testCA)
        let user = try #require(try entry("users", "store-042", in: yaml)?["user"])
        #expect(user["client-certificate-data"]?.string == testCert)
        #expect(user["client-key-data"]?.string == testKey)
        let context = try #require(try entry("contexts", "store-042", in: yaml)?["context"])
        #expect(context["cluster"]?.string == "store-042")
        #expect(context["user"]?.string == "store-042")
        #expect(try tree(yaml)["current-context"]?.string == "store-042", "standalone: usable as KUBECONFIG alone")
        #expect(!yaml.contains("default"))
    }

    @Test(arguments: [
        ("10.42.0.10", "https://10.42.0.10:6443"),
        ("fd00:42::10", "https://[fd00:42::10]:6443"),
        ("[fd00:42::10]", "https://[fd00:42::10]:6443"),
        ("store-042.edge.example.com", "https://store-042.edge.example.com:6443"),
    ])
    func serverHostKeepsSchemeAndPort(host: String, expected: String) throws {
        #expect(try storeKubeconfig("s", host: host).server == expected)
        #expect(try storeKubeconfig("s", host: host, fetched: k3sYAML(port: 16443)).server
            == expected.replacingOccurrences(of: ":6443", with: ":16443"))
    }

    @Test func rewritesWhateverServerK3sWrote() throws {
        func fetched(_ server: String) -> String {
            k3sYAML().replacingOccurrences(of: "https://127.0.0.1:6443", with: server)
        }
        #expect(try storeKubeconfig("s", host: "10.0.0.5", fetched: fetched("https://[::1]:6443")).server == "https://10.0.0.5:6443")
        #expect(try storeKubeconfig("s", host: "fd00::5", fetched: fetched("https://127.0.0.1")).server == "https://[fd00::5]")
        #expect(throws: KubeconfigError.self, "not a URL") {
            try storeKubeconfig("s", fetched: fetched("127.0.0.1:6443"))
        }
    }

    @Test func apiEndpointWinsOverTheFirstServer() throws {
        let inventory = try load("""
            stores:
              - name: with-endpoint
                apiEndpoint: 10.42.0.100
                hosts:
                  - {address: 10.42.0.11, role: agent}
                  - {address: 10.42.0.10, role: server}
              - name: v6
                hosts: [{address: "fd00:7::1", role: server}]
              - name: named
                hosts: [{address: pi-1.shop.example, role: server}]
            """).get()
        let endpoint = try StoreKubeconfig(
            fetched: k3sYAML(), source: "k3s.yaml", store: try #require(inventory.store(named: "with-endpoint")), fleet: "f")
        #expect(endpoint.server == "https://10.42.0.100:6443")
        #expect(endpoint.owner == KubeconfigOwner(fleet: "f", store: "with-endpoint"))
        let v6 = try StoreKubeconfig(fetched: k3sYAML(), source: "k3s.yaml", store: try #require(inventory.store(named: "v6")), fleet: "f")
        #expect(v6.server == "https://[fd00:7::1]:6443")
        let named = try StoreKubeconfig(fetched: k3sYAML(), source: "k3s.yaml", store: try #require(inventory.store(named: "named")), fleet: "f")
        #expect(named.server == "https://pi-1.shop.example:6443")
    }

    @Test func contextTemplateNamesTheEntries() throws {
        let inventory = try load("""
            defaults: {contextTemplate: "edge-{store}"}
            stores:
              - {name: store-7, hosts: [{address: 10.0.0.7, role: server}]}
            """).get()
        let store = try StoreKubeconfig(fetched: k3sYAML(), source: "k3s.yaml", store: inventory.stores[0], fleet: "f")
        #expect(store.context == "edge-store-7")
        #expect(try names("clusters", in: store.yaml) == ["edge-store-7"])
        #expect(store.owner.store == "store-7")
    }

    @Test func everyEntryCarriesTheOwnershipMark() throws {
        let yaml = try storeKubeconfig("store-1", fleet: "coffee").yaml
        for (section, body) in [("clusters", "cluster"), ("users", "user"), ("contexts", "context")] {
            let extensions = try #require(try entry(section, "store-1", in: yaml)?[body]?["extensions"]?.sequence)
            #expect(extensions.count == 1)
            #expect(extensions.first?["name"]?.string == "edgeup")
            #expect(extensions.first?["extension"]?["fleet"]?.string == "coffee")
            #expect(extensions.first?["extension"]?["store"]?.string == "store-1")
        }
    }

    @Test func numericNamesStayStrings() throws {
        let yaml = try storeKubeconfig("1234").yaml
        let name = try #require(try tree(yaml)["contexts"]?.sequence?.first?["name"])
        #expect(name.tag.description == Tag.Name.str.rawValue, "kubectl needs the string \"1234\", not a number")
    }

    @Test func refusesAFileWithoutTheExpectedEntries() {
        let noUser = k3sYAML().replacingOccurrences(of: "    user: default\n", with: "")
        #expect(throws: KubeconfigError.self) { try storeKubeconfig("s", fetched: noUser) }
        do {
            _ = try storeKubeconfig("s", fetched: "apiVersion: v1\nkind: Config\n")
            Issue.record("a kubeconfig without context was accepted")
        } catch let error as KubeconfigError {
            #expect(error.kind == .invalidFetched)
            #expect(error.description.hasPrefix("s:/etc/rancher/k3s/k3s.yaml: error: has no current context"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
