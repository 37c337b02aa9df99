import Foundation
import EdgeupKit
import Testing

@Suite struct NodeConfigTests {
    let inventory = try! load("""
        defaults:
          k3s:
            config:
              disable: [traefik]
              write-kubeconfig-mode: "0600"
              kubelet-arg: ["max-pods=60"]
              tls-san: [k3s.example.com]
        stores:
          - name: ha
            apiEndpoint: 10.0.0.100
            hosts:
              - {name: s1, address: 10.0.0.1, role: server, labels: {zone: a}}
              - {name: s2, address: 10.0.0.2, role: server}
              - {name: s3, address: 10.0.0.3, role: server}
              - {address: 10.0.0.9, role: agent, taints: ["dedicated=pos:NoSchedule"]}
          - name: single
            hosts: [{name: pi, address: 10.1.0.1, role: server}, {name: a1, address: 10.1.0.2, role: agent}]
        """).get()

    @Test func firstEtcdServerInitialisesAndCarriesSANs() {
        let store = inventory.stores[0]
        let config = NodeConfig(for: store.hosts[0], in: store)
        #expect(config.entries.map(\.key) == [
            "disable", "write-kubeconfig-mode", "kubelet-arg", "tls-san", "cluster-init", "node-name", "agent-token-file",
            "node-label",
        ])
        #expect(config["tls-san"] == .list(["k3s.example.com", "10.0.0.100", "10.0.0.1", "10.0.0.2", "10.0.0.3"].map(ConfigValue.string)))
        #expect(config["cluster-init"] == .bool(true))
        #expect(config["node-label"] == .list([.string("zone=a")]))
        #expect(config["server"] == nil && config["token-file"] == nil)
    }

    @Test func joiningServerPointsAtTheEndpointWithATokenFile() {
        let store = inventory.stores[0]
        let config = NodeConfig(for: store.hosts[1], in: store)
        #expect(config["server"] == .string("https://10.0.0.100:6443"))
        #expect(config["token-file"] == .string(K3sPaths.joinTokenFile))
        #expect(config["cluster-init"] == nil)
        #expect(config["disable"] != nil, "must-match settings go to every server")
    }

    @Test func agentsGetOnlyAgentFlags() {
        let store = inventory.stores[0]
        let config = NodeConfig(for: store.hosts[3], in: store)
        #expect(config.entries.map(\.key) == ["kubelet-arg", "server", "token-file", "node-taint"])
        #expect(config["node-name"] == nil, "a host without a name keeps k3s's default node name")
        #expect(config["node-taint"] == .list([.string("dedicated=pos:NoSchedule")]))
    }

    @Test func sqliteFirstServerHasNoClusterInit() {
        let store = inventory.stores[1]
        #expect(NodeConfig(for: store.hosts[0], in: store)["cluster-init"] == nil)
        #expect(NodeConfig(for: store.hosts[1], in: store)["server"] == .string("https://10.1.0.1:6443"))
    }

    @Test func renderingIsStableQuotedAndReadsBack() throws {
        let store = inventory.stores[0]
        let config = NodeConfig(for: store.hosts[0], in: store)
        #expect(config.rendered == NodeConfig(for: store.hosts[0], in: store).rendered)
        #expect(config.rendered.contains("write-kubeconfig-mode: \"0600\""), "a mode must stay a string")
        #expect(config.rendered.contains("cluster-init: true"))
        #expect(!config.rendered.lowercased().contains("token:"), "never a token in config.yaml")
        #expect(Set(config.keyFingerprints.keys) == Set(config.entries.map(\.key)))
        #expect(NodeConfig.keyFingerprints(ofText: "") == [:])
    }

    /// The probe hashes config.yaml per key on the host, so its values never leave it: the awk
    /// program it runs must split the file exactly as edgeup does locally.
    @Test func probeHashesConfigKeysOnTheHostLikeEdgeup() throws {
        let store = inventory.stores[0]
        var config = NodeConfig(for: store.hosts[0], in: store)
        config.entries.append(ConfigEntry("kube-proxy-arg", .list([.string("max-pods=50"), .string("a: b")])))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString).yaml").path
        try config.rendered.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let awk = Process()
        awk.executableURL = URL(fileURLWithPath: "/usr/bin/awk")
        awk.arguments = [FactsProbe.configKeysProgram, file]
        let pipe = Pipe()
        awk.standardOutput = pipe
        try awk.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        awk.waitUntilExit()
        let facts = FactsProbe.parse("config_sha256=\(config.fingerprint)\n" + output)
        #expect(facts.k3s.configKeys == config.keyFingerprints)
        #expect(config.keyFingerprints.count == config.entries.count)
        #expect(!output.contains("max-pods"), "values stay on the host")
    }

    @Test func ipv6JoinURLIsBracketed() throws {
        let store = try load("stores:\n  - {name: v6, hosts: [{address: \"fd00::1\", role: server}, {address: \"fd00::2\", role: agent}]}\n").get().stores[0]
        #expect(store.joinURL == "https://[fd00::1]:6443")
    }
}

extension NodeConfig {
    subscript(key: String) -> ConfigValue? { entries.first { $0.key == key }?.value }
}
