@testable import EdgeupKit
import Foundation
import Testing

/// `k3s.registries`: registries.yaml's shape, credentials only as `!env`, never kept.
@Suite struct RegistriesTests {
    static func inventory(_ registries: String, store: String = "") -> String {
        """
        defaults:
          k3s:
            binary: /bin/k3s
            registries:
        \(registries)
        stores:
          - name: s1
        \(store)    hosts: [{address: 10.0.0.1, role: server}]
        """
    }

    static let mirror = """
              mirrors:
                docker.io:
                  endpoint: ["https://mirror.lab:5000"]
                  rewrite: {"^library/(.*)": "hub/$1"}
              configs:
                mirror.lab:5000:
                  auth: {username: edge, password: !env REG_PASSWORD}
                  tls: {ca_file: /etc/ssl/mirror.pem, insecure_skip_verify: false}
        """

    @Test func rendersRegistriesYAMLWithTheCredentialOnlyInTheFile() throws {
        let store = try #require(try load(Self.inventory(Self.mirror), environment: ["REG_PASSWORD": "hunter2"]).get().stores.first)
        let registries = try #require(store.k3s.registries)
        #expect(registries.rendered == """
            # Written by edgeup from the inventory (k3s.registries); local edits are replaced on the next apply.
            mirrors:
              docker.io:
                endpoint:
                - https://mirror.lab:5000
                rewrite:
                  ^library/(.*): hub/$1
            configs:
              mirror.lab:5000:
                auth:
                  password: hunter2
                  username: edge
                tls:
                  ca_file: /etc/ssl/mirror.pem
                  insecure_skip_verify: false

            """)
        #expect(registries.registryNames == ["docker.io", "mirror.lab:5000"])
        #expect(registries.fingerprint.count == 16)
        let encoded = String(decoding: try JSONEncoder().encode(store), as: UTF8.self)
        #expect(!encoded.contains("hunter2") && encoded.contains("REG_PASSWORD"), "fingerprints and saved state see the variable's name only")
        let rotated = try #require(try load(Self.inventory(Self.mirror), environment: ["REG_PASSWORD": "new"]).get().stores.first?.k3s.registries)
        #expect(rotated.fingerprint != registries.fingerprint, "a rotated credential is a change on the hosts")
    }

    @Test func aStoreAddsToTheDefaultsRegistries() throws {
        let text = Self.inventory(Self.mirror, store: """
                k3s: {registries: {mirrors: {registry.local: {endpoint: ["http://10.0.0.9:5000"]}}}}

            """)
        let store = try #require(try load(text, environment: ["REG_PASSWORD": "x"]).get().stores.first)
        #expect(store.k3s.registries?.registryNames == ["docker.io", "registry.local", "mirror.lab:5000"])
    }

    @Test(arguments: [
        ("      mirror: {}", "unknown key"),
        ("      configs: {reg: {auth: {username: edge, password: hunter2}}}", "k3s.registries.configs.reg.auth.password holds a credential"),
        ("      configs: {reg: {tls: {ca_file: !env CA}}}", "tls.ca_file cannot read the environment"),
        ("      mirrors: {docker.io: {endpoint: [mirror.lab:5000]}}", "is not an http(s) URL"),
        ("      mirrors: {docker.io: {rewrite: {a: b}}}", "endpoint"),
        ("      configs: {reg: {auth: {username: edge, password: !env UNSET_PASSWORD}}}", "UNSET_PASSWORD, which is not set"),
    ])
    func refusals(registries: String, fragment: String) {
        expectError(load(Self.inventory(registries)), containing: fragment)
    }

    @Test func theRegistriesFlagIsEdgeupsToManage() {
        expectError(load("""
            stores:
              - name: s1
                k3s: {config: {private-registry: /etc/other.yaml}}
                hosts: [{address: 10.0.0.1, role: server}]
            """), containing: "k3s config key 'private-registry' is managed by edgeup")
    }
}
