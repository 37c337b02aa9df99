import EdgeupKit
import Foundation
import Testing

@Suite struct FactsProbeTests {
    @Test func parsesEveryFact() throws {
        let nodes = """
            {"items": [
              {"metadata": {"name": "s1", "labels": {"node-role.kubernetes.io/control-plane": "true",
                 "node-role.kubernetes.io/etcd": "true", "kubernetes.io/os": "linux"}},
               "status": {"conditions": [{"type": "Ready", "status": "True"}],
                          "nodeInfo": {"kubeletVersion": "v1.31.4+k3s1"},
                          "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}},
              {"metadata": {"name": "a1"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}
            ]}
            """
        let output = """
            machine=aarch64
            os_id=debian
            os_version=12
            hostname=pi-042
            machine_id=abc123
            init=systemd
            clock=1700000000
            k3s_version=k3s version v1.31.4+k3s1 (a1b2c3d4)
            k3s_sha256=feed
            config_sha256=c0ffee
            config_key=disable 1111111111111111111111111111111111111111111111111111111111111111  -
            config_key=cluster-init 2222222222222222222222222222222222222222222222222222222222222222  -
            config_key=\u{1b}[2Jx 3333333333333333333333333333333333333333333333333333333333333333  -
            join_token=0123456789abcdef
            agent_token=fedcba9876543210
            agent_join_token=00112233445566ff
            restart_pending=restart: to apply: config.yaml\u{1b}[31m
            service_sha256=5e
            service_active=1
            image=123456 k3s-airgap-images-arm64.tar.zst
            listen=192B
            listen=0016
            listen=280A
            default_route=1
            api_ready=1
            nodes_b64=\(Data(nodes.utf8).base64EncodedString())
            some_future_key=ignored
            """
        let facts = FactsProbe.parse(output)
        #expect(facts.architecture == .arm64)
        #expect(facts.osID == "debian" && facts.hostname == "pi-042" && facts.machineID == "abc123")
        #expect(facts.initSystem == .systemd)
        #expect(facts.clock == 1_700_000_000)
        #expect(facts.k3s.version == K3sVersion("v1.31.4+k3s1"))
        #expect(facts.k3s.configKeys?.keys.sorted() == ["cluster-init", "disable"], "a key that is no flag name is dropped")
        #expect(facts.k3s.configKeys?["disable"] == String(repeating: "1", count: 64))
        #expect(facts.k3s.joinTokenFingerprint == "0123456789abcdef")
        #expect(facts.k3s.agentTokenFingerprint == "fedcba9876543210" && facts.k3s.agentJoinTokenFingerprint == "00112233445566ff")
        #expect(facts.k3s.pendingRestart == "restart: to apply: config.yaml\\u{1b}[31m", "a host's text is escaped")
        #expect(facts.k3s.serverTokenFingerprint == nil)
        #expect(facts.k3s.serviceActive && !facts.k3s.serviceEnabled)
        #expect(facts.k3s.airgapImages == ["k3s-airgap-images-arm64.tar.zst": 123_456])
        #expect(facts.listeningPorts == [6443, 10250], "only the ports k3s needs; 22 is ignored")
        #expect(facts.hasDefaultRoute && facts.k3s.apiReady)
        #expect(facts.k3s.nodes == [
            NodeFacts(name: "s1", ready: true, roles: ["control-plane", "etcd"], kubeletVersion: "v1.31.4+k3s1", internalIP: "10.0.0.1"),
            NodeFacts(name: "a1", ready: false, roles: []),
        ])
    }

    @Test func bareHost() {
        let facts = FactsProbe.parse("machine=x86_64\nhostname=h\nclock=5\n")
        #expect(facts.architecture == .amd64)
        #expect(!facts.k3s.installed)
        #expect(facts.k3s.nodes == nil)
        #expect(facts.initSystem == nil)
        #expect(!facts.hasDefaultRoute)
    }

    @Test func scriptNeverPrintsSecrets() {
        for role in Role.allCases {
            let script = FactsProbe.script(for: role)
            // Token files only ever pass through sha256sum (`fp`); config.yaml only through the per-key hashes.
            for line in script.split(separator: "\n") where line.contains("token") && line.contains("echo") {
                #expect(line.contains("| fp") || line.contains("$(fp <"), "\(line)")
            }
            #expect(!script.contains("base64 <"), "no file's content is sent back")
            #expect(script.contains(K3sPaths.serviceName(for: role)))
        }
    }
}
