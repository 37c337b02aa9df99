import EdgeSSH
import EdgeupKit
import Testing

/// How defaults, stores and hosts layer, and how paths, datastores and gateways resolve.
@Suite struct InventoryResolutionTests {
    @Test func hostOverridesStoreOverridesDefaults() throws {
        let inventory = try load("""
            defaults:
              ssh: {user: pi, port: 2222, identityFile: ~/.ssh/edge, hostKeyPolicy: accept-new, commandTimeout: 300}
            stores:
              - name: s1
                ssh: {user: admin}
                hosts:
                  - {name: a, address: 10.0.0.1, role: server}
                  - {name: b, address: 10.0.0.2, role: agent, ssh: {port: 22, sudo: false, transport: openssh, commandTimeout: 900}}
            """).get()
        let hosts = inventory.stores[0].hosts
        #expect(hosts[0].ssh.user == "admin")
        #expect(hosts[0].ssh.port == 2222)
        #expect(hosts[0].ssh.identityFile == "/home/op/.ssh/edge")
        #expect(hosts[0].ssh.hostKeyPolicy == .acceptNew)
        #expect(hosts[0].ssh.sudo, "sudo defaults to on for non-root users")
        #expect(hosts[1].ssh.user == "admin")
        #expect(hosts[1].ssh.port == 22)
        #expect(!hosts[1].ssh.sudo)
        #expect(hosts[1].ssh.transport == .openssh)
        #expect(hosts[0].ssh.transport == .libssh2)
        #expect(hosts[0].ssh.commandTimeoutSeconds == 300)
        #expect(hosts[1].ssh.commandTimeoutSeconds == 900)
    }

    @Test func builtInDefaults() throws {
        let inventory = try load("stores:\n  - {name: s1, hosts: [{address: 10.0.0.1, role: server}]}\n").get()
        let ssh = inventory.stores[0].hosts[0].ssh
        #expect(ssh.user == "root")
        #expect(!ssh.sudo, "root needs no sudo")
        #expect(ssh.port == 22)
        #expect(ssh.knownHostsFile == "/home/op/.ssh/known_hosts")
        #expect(ssh.hostKeyPolicy == .strict)
        #expect(ssh.identityFile == nil)
        #expect(ssh.connectTimeoutSeconds == 10)
        #expect(ssh.commandTimeoutSeconds == nil, "each step keeps its own limit")
        #expect(inventory.stores[0].hosts[0].name == "10.0.0.1")
        #expect(inventory.stores[0].hosts[0].nodeName == nil)
        #expect(inventory.stores[0].context == "s1")
    }

    @Test func relativePathsResolveAgainstTheFileThatWroteThem() throws {
        let common = """
            defaults:
              ssh: {knownHostsFile: ../keys/known_hosts, identityFile: id_ed25519}
              k3s: {binary: {amd64: bundles/k3s, arm64: /opt/k3s-arm64}}
            """
        let stores = """
            stores:
              - name: s1
                hosts: [{address: 10.0.0.1, role: server, ssh: {identityFile: ./own-key}}]
            """
        let inventory = try load(("config/common.yaml", common), ("/srv/fleet/eu.yaml", stores)).get()
        let host = inventory.stores[0].hosts[0]
        #expect(host.ssh.knownHostsFile == "/work/keys/known_hosts")
        #expect(host.ssh.identityFile == "/srv/fleet/own-key")
        #expect(inventory.stores[0].k3s.binary?.path(for: .amd64) == "/work/config/bundles/k3s")
        #expect(inventory.stores[0].k3s.binary?.path(for: .arm64) == "/opt/k3s-arm64")
        #expect(inventory.stores[0].k3s.binary?.path(for: .arm) == nil)
    }

    @Test func defaultsApplyToTheirFileAndLaterFilesWithoutDefaults() throws {
        let inventory = try load(
            ("common.yaml", "defaults: {ssh: {user: pi}}\n"),
            ("eu.yaml", "stores:\n  - {name: eu-1, hosts: [{address: 10.0.0.1, role: server}]}\n"),
            ("us.yaml", "defaults: {ssh: {user: ops}}\nstores:\n  - {name: us-1, hosts: [{address: 10.1.0.1, role: server}]}\n")
        ).get()
        #expect(inventory.store(named: "eu-1")?.hosts[0].ssh.user == "pi")
        #expect(inventory.store(named: "us-1")?.hosts[0].ssh.user == "ops")
        #expect(inventory.files == ["common.yaml", "eu.yaml", "us.yaml"])
    }

    @Test func datastoreDefaultsFromServerCount() throws {
        let inventory = try load("""
            stores:
              - {name: one, hosts: [{address: 10.0.0.1, role: server}, {address: 10.0.0.2, role: agent}]}
              - name: three
                hosts:
                  - {address: 10.0.1.4, role: agent}
                  - {address: 10.0.1.1, role: server}
                  - {address: 10.0.1.2, role: server}
                  - {address: 10.0.1.3, role: server}
            """).get()
        #expect(inventory.stores[0].datastore == .sqlite)
        #expect(inventory.stores[1].datastore == .etcd)
        #expect(inventory.stores[1].hosts.map(\.address) == ["10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4"],
            "servers come first, in inventory order")
        #expect(inventory.stores[1].firstServer?.address == "10.0.1.1")
    }

    @Test func gatewayChainsResolveOutermostFirst() throws {
        let inventory = try load("""
            gateways:
              - {name: store-gw, address: 10.10.0.1, via: bastion, ssh: {user: gw}}
              - {name: bastion, address: 203.0.113.5}
            stores:
              - {name: s1, via: store-gw, hosts: [{address: 192.168.1.2, role: server}]}
              - {name: s2, hosts: [{address: 10.0.0.2, role: server}]}
            """).get()
        #expect(inventory.stores[0].hosts[0].gateways == ["bastion", "store-gw"])
        #expect(inventory.stores[1].hosts[0].gateways == [])
        #expect(inventory.gateway(named: "store-gw")?.gateways == ["bastion"])
        #expect(inventory.gateway(named: "store-gw")?.ssh.user == "gw")
    }

    @Test func k3sSettingsMergeStoreOverDefaults() throws {
        let inventory = try load("""
            defaults:
              k3s:
                version: v1.31.4+k3s1
                config: {disable: [traefik], cluster-cidr: 10.42.0.0/16, kubelet-arg: ["max-pods=60"]}
            stores:
              - name: s1
                k3s:
                  channel: stable
                  config: {cluster-cidr: 10.52.0.0/16, secrets-encryption: true}
                hosts: [{address: 10.0.0.1, role: server}]
              - {name: s2, hosts: [{address: 10.0.0.2, role: server}]}
            """).get()
        let s1 = inventory.stores[0].k3s
        #expect(s1.channel == "stable")
        #expect(s1.version == nil, "a store choosing a channel drops the default version")
        #expect(s1.config.map(\.key) == ["disable", "cluster-cidr", "kubelet-arg", "secrets-encryption"])
        #expect(s1.config.first { $0.key == "cluster-cidr" }?.value == .string("10.52.0.0/16"))
        #expect(s1.config.first { $0.key == "secrets-encryption" }?.value == .bool(true))
        #expect(inventory.stores[1].k3s.version == "v1.31.4+k3s1")
        #expect(inventory.stores[1].k3s.config.first?.value == .list([.string("traefik")]))
    }

    @Test func hostDetails() throws {
        let inventory = try load("""
            stores:
              - name: s1
                labels: {region: eu, tier: "1"}
                hosts:
                  - name: pi-1
                    address: 10.0.0.1
                    role: server
                    labels: {example.com/zone: a}
                    taints: ["dedicated=edge:NoSchedule", "gpu:NoExecute"]
            """).get()
        let host = inventory.stores[0].hosts[0]
        #expect(inventory.stores[0].labels == ["region": "eu", "tier": "1"])
        #expect(host.nodeName == "pi-1")
        #expect(host.labels == ["example.com/zone": "a"])
        #expect(host.taints.map(\.description) == ["dedicated=edge:NoSchedule", "gpu:NoExecute"])
        #expect(host.location == SourceLocation(file: "inv.yaml", line: 5, column: 9))
    }

    @Test func contextTemplateAndOverride() throws {
        let inventory = try load("""
            defaults: {contextTemplate: "edge-{store}"}
            stores:
              - {name: s1, hosts: [{address: 10.0.0.1, role: server}]}
              - {name: s2, context: flagship, hosts: [{address: 10.0.0.2, role: server}]}
            """).get()
        #expect(inventory.stores.map(\.context) == ["edge-s1", "flagship"])
    }

    @Test func anchorsAndMergeKeysWork() throws {
        let inventory = try load("""
            stores:
              - name: s1
                hosts:
                  - &pi {address: 10.0.0.1, role: server, ssh: {user: pi}}
                  - {<<: *pi, address: 10.0.0.2, role: agent}
            """).get()
        #expect(inventory.stores[0].hosts.map(\.address) == ["10.0.0.1", "10.0.0.2"])
        #expect(inventory.stores[0].hosts[1].role == .agent)
        #expect(inventory.stores[0].hosts[1].ssh.user == "pi")
    }

    @Test func shippedInventoriesAreValid() throws {
        let root = #filePath.components(separatedBy: "/Tests/")[0]
        let loader = InventoryLoader(homeDirectory: "/home/op", currentDirectory: root)
        let result = loader.load(paths: ["inventories/example.yaml", "inventories/coffee-shops.yaml"])
        #expect(result.errors.isEmpty, "\(result.errors)")
        let inventory = try result.get()
        #expect(inventory.stores.count > 40)
        #expect(inventory.stores.contains { $0.datastore == .etcd && $0.servers.count == 3 })
        #expect(inventory.stores.contains { $0.hosts.first?.gateways.count == 2 }, "bastion → store gateway chains")
    }
}
