import EdgeupKit
import Testing

/// Every validation rule: the error, its file:line:column and its hint.
@Suite struct InventoryValidationTests {
    @Test func unknownKeyIsReportedWithSuggestionAndLocation() {
        let result = load("""
            stores:
              - name: s1
                hosts:
                  - {name: h1, adress: 10.0.0.1, role: server}
            """)
        let error = expectError(result, containing: "unknown key 'adress'", at: (4, 20))
        #expect(error?.hint?.contains("did you mean 'address'?") == true)
        expectError(result, containing: "missing required key 'address'", at: (4, 9))
    }

    @Test func unknownTopLevelAndNestedKeys() {
        let result = load("""
            defaults:
              ssh: {usr: pi}
            store: []
            """)
        #expect(expectError(result, containing: "unknown key 'usr'", at: (2, 9))?.hint?.contains("'user'") == true)
        #expect(expectError(result, containing: "unknown key 'store'", at: (3, 1))?.hint?.contains("'stores'") == true)
    }

    @Test func missingRequiredKeys() {
        let result = load("""
            stores:
              - name: s1
              - hosts: [{address: 10.0.0.1, role: server}]
            """)
        expectError(result, containing: "missing required key 'hosts'", at: (2, 5))
        expectError(result, containing: "missing required key 'name'", at: (3, 5))
    }

    @Test func wrongValueTypes() {
        let result = load("""
            defaults:
              ssh: {port: twenty-two, sudo: maybe}
            stores:
              - {name: s1, hosts: {address: 10.0.0.1}}
            """)
        expectError(result, containing: "port must be a whole number, found 'twenty-two'", at: (2, 15))
        expectError(result, containing: "sudo must be true or false", at: (2, 33))
        expectError(result, containing: "hosts must be a list", at: (4, 23))
    }

    @Test func timeoutsMustBePositive() {
        let result = load("""
            defaults:
              ssh: {connectTimeout: 0, commandTimeout: -5}
            stores:
              - {name: s1, hosts: [{address: 10.0.0.1, role: server, ssh: {commandTimeout: soon}}]}
            """)
        expectError(result, containing: "connectTimeout must be a positive number of seconds", at: (2, 25))
        expectError(result, containing: "commandTimeout must be a positive number of seconds", at: (2, 44))
        expectError(result, containing: "commandTimeout must be a whole number, found 'soon'", at: (4, 80))
    }

    @Test func invalidYAMLSyntaxPointsAtTheProblem() {
        let result = load("""
            stores:
              - name: s1
                hosts: [{address: 10.0.0.1, role: server}
            """)
        let error = expectError(result, containing: "invalid YAML")
        #expect(error?.location?.line == 4)
    }

    @Test func duplicateKeysInOneMapping() {
        let result = load("""
            stores:
              - name: s1
                name: s2
                hosts: [{address: 10.0.0.1, role: server}]
            """)
        expectError(result, containing: "duplicate key 'name'")
    }

    @Test func duplicateStoreNamesAcrossFiles() {
        let store = "stores:\n  - {name: shop, hosts: [{address: 10.0.0.1, role: server}]}\n"
        let other = "stores:\n  - {name: shop, hosts: [{address: 10.0.0.2, role: server}]}\n"
        let result = load(("a.yaml", store), ("b.yaml", other))
        let error = expectError(result, containing: "duplicate store name 'shop'", at: (2, 12), file: "b.yaml")
        #expect(error?.message.contains("a.yaml:2:12") == true)
    }

    @Test func duplicateGatewayNames() {
        let result = load("""
            gateways:
              - {name: gw, address: 10.0.0.1}
              - {name: gw, address: 10.0.0.2}
            stores:
              - {name: s1, hosts: [{address: 10.0.0.9, role: server}]}
            """)
        expectError(result, containing: "duplicate gateway name 'gw'", at: (3, 12))
    }

    @Test func duplicateHostNamesInAStore() {
        let result = load("""
            stores:
              - name: s1
                hosts:
                  - {name: pi, address: 10.0.0.1, role: server}
                  - {name: pi, address: 10.0.0.2, role: agent}
            """)
        expectError(result, containing: "host name 'pi' is used twice", at: (5, 16))
    }

    @Test func duplicateAddressesInTheSameNetworkOnly() {
        let result = load("""
            gateways:
              - {name: gw-a, address: 203.0.113.1}
              - {name: gw-b, address: 203.0.113.2}
            stores:
              - {name: s1, hosts: [{address: 10.0.0.1, role: server}]}
              - {name: s2, hosts: [{address: 10.0.0.1, role: server}]}
              - {name: s3, via: gw-a, hosts: [{address: 192.168.1.10, role: server}]}
              - {name: s4, via: gw-b, hosts: [{address: 192.168.1.10, role: server}]}
            """)
        // Stores behind different gateways may reuse a LAN range; directly reached hosts may not.
        #expect(result.errors.count == 1)
        expectError(result, containing: "address 10.0.0.1 is used twice", at: (6, 34))
    }

    @Test func unknownGatewayReferences() {
        let result = load("""
            gateways:
              - {name: gw-eu, address: 203.0.113.1, via: bastion}
            stores:
              - {name: s1, via: gw-ue, hosts: [{address: 10.0.0.1, role: server}]}
            """)
        let error = expectError(result, containing: "unknown gateway 'gw-ue'", at: (4, 21))
        #expect(error?.hint == "did you mean 'gw-eu'?")
        expectError(result, containing: "unknown gateway 'bastion'", at: (2, 46))
    }

    @Test func gatewayCycles() {
        let result = load("""
            gateways:
              - {name: a, address: 10.0.0.1, via: b}
              - {name: b, address: 10.0.0.2, via: a}
              - {name: c, address: 10.0.0.3, via: c}
            stores:
              - {name: s1, via: a, hosts: [{address: 10.0.1.1, role: server}]}
            """)
        #expect(expectError(result, containing: "gateway cycle: a → b → a")?.location?.line == 2)
        expectError(result, containing: "gateway cycle: c → c", at: (4, 39))
    }

    @Test func sqliteWithMoreThanOneServer() {
        let result = load("""
            stores:
              - name: s1
                datastore: sqlite
                hosts:
                  - {address: 10.0.0.1, role: server}
                  - {address: 10.0.0.2, role: server}
                  - {address: 10.0.0.3, role: server}
            """)
        let error = expectError(result, containing: "uses sqlite but has 3 servers", at: (3, 16))
        #expect(error?.hint?.contains("datastore: etcd") == true)
    }

    @Test func evenNumberOfEtcdServers() {
        let result = load("""
            stores:
              - name: four
                datastore: etcd
                hosts:
                  - {address: 10.0.0.1, role: server}
                  - {address: 10.0.0.2, role: server}
                  - {address: 10.0.0.3, role: server}
                  - {address: 10.0.0.4, role: server}
              - name: two
                hosts:
                  - {address: 10.0.1.1, role: server}
                  - {address: 10.0.1.2, role: server}
              - name: one-etcd
                datastore: etcd
                hosts: [{address: 10.0.2.1, role: server}]
            """)
        expectError(result, containing: "even number of servers (4)", at: (3, 16))
        expectError(result, containing: "'two' has 2 servers", at: (9, 11))
        #expect(result.errors.count == 2, "one etcd server is fine")
    }

    @Test func storeWithoutServer() {
        let result = load("""
            stores:
              - name: s1
                hosts: [{address: 10.0.0.1, role: agent}]
            """)
        let error = expectError(result, containing: "store 's1' has no server", at: (2, 11))
        #expect(error?.hint?.contains("role: server") == true)
    }

    @Test func invalidRole() {
        let result = load("""
            stores:
              - name: s1
                hosts:
                  - {address: 10.0.0.1, role: server}
                  - {address: 10.0.0.2, role: worker}
                  - {address: 10.0.0.3, role: agnet}
            """)
        #expect(expectError(result, containing: "invalid role 'worker'", at: (5, 35))?.hint?.contains("'server' or 'agent'") == true)
        #expect(expectError(result, containing: "invalid role 'agnet'")?.hint == "did you mean 'agent'?")
    }

    @Test func invalidLabelsAndTaints() {
        let result = load("""
            stores:
              - name: s1
                labels: {"Region Name": eu, tier: "-small"}
                hosts:
                  - address: 10.0.0.1
                    role: server
                    labels: {example.com/zone: a, bad/key/x: b}
                    taints: ["dedicated=edge:NoSchedule", "gpu", "x=y:NoScheduel"]
            """)
        expectError(result, containing: "label key 'Region Name'", at: (3, 14))
        expectError(result, containing: "label value '-small'", at: (3, 39))
        expectError(result, containing: "label key 'bad/key/x'", at: (7, 39))
        expectError(result, containing: "taint 'gpu' has no effect", at: (8, 47))
        #expect(expectError(result, containing: "unknown effect 'NoScheduel'")?.message.contains("did you mean 'NoSchedule'") == true)
        #expect(result.errors.count == 5)
    }

    @Test func nonHostAddresses() {
        let result = load("""
            stores:
              - name: s1
                apiEndpoint: https://10.0.0.1:6443
                hosts:
                  - {address: 10.0.0.0/24, role: server}
                  - {address: 0.0.0.0, role: agent}
                  - {address: 10.0.0.300, role: agent}
                  - {address: "pi.local:2222", role: agent}
                  - {address: 239.1.1.1, role: agent}
                  - {address: "bad host", role: agent}
                  - {address: "fe80::1", role: agent}
                  - {address: pi-4.store.example.com, role: agent}
            """)
        expectError(result, containing: "'https://10.0.0.1:6443' is a URL", at: (3, 18))
        expectError(result, containing: "'10.0.0.0/24' is a network", at: (5, 19))
        expectError(result, containing: "'0.0.0.0' is the unspecified", at: (6, 19))
        expectError(result, containing: "'10.0.0.300' is not a valid IPv4", at: (7, 19))
        expectError(result, containing: "looks like host:port", at: (8, 19))
        expectError(result, containing: "'239.1.1.1' is a multicast", at: (9, 19))
        expectError(result, containing: "'bad host' contains spaces", at: (10, 19))
        #expect(result.errors.count == 7, "IPv6 and DNS names are host addresses")
    }

    @Test func managedK3sConfigKeysAreRefused() {
        let result = load("""
            defaults:
              k3s:
                config:
                  token: hunter2
                  disable: [traefik]
                  Cluster_CIDR: 10.1.0.0/16
            stores:
              - {name: s1, hosts: [{address: 10.0.0.1, role: server}]}
            """)
        let error = expectError(result, containing: "'token' is managed by edgeup", at: (4, 7))
        #expect(error?.message.contains("hunter2") == false, "a secret must never be echoed")
        expectError(result, containing: "'Cluster_CIDR' is not a k3s flag name", at: (6, 7))
    }

    @Test func versionAndChannelExcludeEachOther() {
        let result = load("""
            defaults:
              k3s: {version: 1.31.4, channel: stable}
            stores:
              - {name: s1, hosts: [{address: 10.0.0.1, role: server}]}
            """)
        expectError(result, containing: "both k3s version", at: (2, 35))
        expectError(result, containing: "version '1.31.4' must start with 'v'", at: (2, 18))
    }

    @Test func everyErrorIsReportedInOneRun() {
        let result = load("""
            gateways:
              - {name: gw, address: 10.0.0.0/8, via: nowhere}
            stores:
              - name: Bad_Name
                datastore: raft
                hosts:
                  - {address: 10.0.0.1, role: boss, colour: red}
            """)
        let messages = result.errors.map(\.message)
        #expect(messages.count >= 6, "\(messages)")
        for fragment in ["is a network", "unknown gateway 'nowhere'", "store name 'Bad_Name'", "unknown datastore 'raft'",
            "invalid role 'boss'", "unknown key 'colour'"]
        {
            #expect(messages.contains { $0.contains(fragment) }, "missing: \(fragment)")
        }
    }

    @Test func missingAirGapBinaryIsAWarningNotAnError() {
        let result = load(("inv.yaml", """
            defaults:
              k3s: {binary: ./bundles/k3s}
            stores:
              - {name: s1, hosts: [{address: 10.0.0.1, role: server}]}
            """), fileExists: { _ in false })
        #expect(result.inventory != nil)
        #expect(result.warnings.count == 1)
        #expect(result.warnings.first?.message.contains("/work/bundles/k3s does not exist") == true)
    }
}
