import EdgeupKit
import Testing

/// What k3s's side of the distribution seam hands to Plan and Execution.
@Suite struct K3sDistributionTests {
    let k3s = K3sDistribution()
    let inventory = try! load(("inv.yaml", """
        stores:
          - name: shop
            datastore: etcd
            hosts:
              - {name: s1, address: 10.0.0.1, role: server}
              - {name: s2, address: 10.0.0.2, role: server}
              - {name: s3, address: 10.0.0.3, role: server}
              - {name: a1, address: 10.0.0.4, role: agent}
        """)).get()
    var store: Store { inventory.stores[0] }

    @Test func installerEnvironmentPinsTheVersionAndNeverCarriesTheToken() throws {
        let server = k3s.installer(for: store.hosts[0], in: store, version: "v1.31.4+k3s1", channel: nil, scriptURL: "https://get.k3s.io")
        #expect(server.arguments == ["https://get.k3s.io", "INSTALL_K3S_SKIP_START=true", "INSTALL_K3S_EXEC=server", "INSTALL_K3S_VERSION=v1.31.4+k3s1"])
        let agent = k3s.installer(for: store.hosts[3], in: store, version: nil, channel: "stable", scriptURL: "https://mirror/install.sh")
        #expect(agent.arguments == [
            "https://mirror/install.sh", "INSTALL_K3S_SKIP_START=true", "INSTALL_K3S_EXEC=agent", "INSTALL_K3S_CHANNEL=stable",
            "K3S_URL=\(try #require(store.joinURL))", "K3S_TOKEN_FILE=\(K3sPaths.joinTokenFile)",
        ])
        // Values reach the fixed script only as positional parameters.
        #expect(!server.script.description.contains("v1.31.4"))
    }

    @Test func portsFollowRoleAndDatastore() {
        #expect(k3s.requiredPorts(for: .server, datastore: .etcd) == [6443, 10250, 2379, 2380])
        #expect(k3s.requiredPorts(for: .server, datastore: .sqlite) == [6443, 10250])
        #expect(k3s.requiredPorts(for: .agent, datastore: .etcd) == [10250])
    }

    @Test func onlySecureTokensAreHandedOn() {
        #expect(k3s.isSecureServerToken("K10abc::server:secret"))
        #expect(!k3s.isSecureServerToken("plain-secret"))
        #expect(!k3s.isSecureServerToken("K10abc"))
        #expect(k3s.agentJoinToken(serverToken: "K10abc::server:secret", agentSecret: "s3") == "K10abc::node:s3")
    }

    @Test func kubectlIsTheBundledOne() {
        #expect(k3s.kubectl(["get", "nodes"]) == [K3sPaths.binary, "kubectl", "get", "nodes"])
        #expect(Distributions.distribution(for: store).name == "k3s")
        #expect(k3s.joinURL(for: store) == "https://10.0.0.1:6443")
    }
}
