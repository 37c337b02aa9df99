import EdgeSSH
import EdgeupKit
import Foundation
import Testing

/// k3s settings that hold secrets never sit in config.yaml (diffed, fingerprinted, probed) nor in
/// the inventory: they come from the operator's environment and reach k3s through the variables it
/// reads, in the service's 0600 environment file (issue #12).
@Suite struct K3sSecretsTests {
    static let stores = "stores:\n  - {name: s1, hosts: [{name: pi, address: 10.0.0.1, role: server}, {name: a1, address: 10.0.0.2, role: agent}]}\n"

    @Test func secretKeysAreRefusedAsPlainStrings() {
        let result = load("""
            defaults:
              k3s:
                config:
                  etcd-s3-secret-key: s3cr3t-one
                  etcd-s3-access-key: AKIAEXAMPLE
                  etcd-s3-session-token: s3cr3t-two
                  vpn-auth: "name=tailscale,joinKey=s3cr3t-three"
                  datastore-endpoint: "postgres://k3s:s3cr3t-four@db.example:5432/k3s"
                  etcd-s3-bucket: backups
            \(Self.stores)
            """)
        let secretKey = expectError(result, containing: "k3s config key 'etcd-s3-secret-key' holds a secret", at: (4, 7))
        #expect(secretKey?.hint?.contains("write 'etcd-s3-secret-key: !env NAME'") == true, "\(secretKey?.hint ?? "")")
        #expect(secretKey?.hint?.contains("AWS_SECRET_ACCESS_KEY") == true)
        expectError(result, containing: "'etcd-s3-access-key' holds a secret", at: (5, 7))
        expectError(result, containing: "'etcd-s3-session-token' holds a secret", at: (6, 7))
        expectError(result, containing: "'vpn-auth' holds a secret", at: (7, 7))
        let endpoint = expectError(result, containing: "'datastore-endpoint' holds a password", at: (8, 7))
        #expect(endpoint?.hint?.contains("K3S_DATASTORE_ENDPOINT") == true)
        #expect(result.errors.count == 5, "etcd-s3-bucket is an ordinary setting: \(result.errors)")
        #expect(!result.diagnostics.contains { $0.description.contains("s3cr3t") }, "a secret is never echoed")
    }

    @Test func datastoreEndpointWithoutAPasswordIsAnOrdinarySetting() throws {
        for endpoint in ["https://10.0.0.5:2379,https://10.0.0.6:2379", "postgres://k3s@db.example:5432/k3s?sslmode=verify-full"] {
            let inventory = try load("defaults: {k3s: {config: {datastore-endpoint: \"\(endpoint)\"}}}\n" + Self.stores).get()
            let store = inventory.stores[0]
            #expect(NodeConfig(for: store.hosts[0], in: store)["datastore-endpoint"] == .string(endpoint))
        }
        for endpoint in ["mysql://k3s:pw@tcp(db:3306)/k3s", "postgres://db/k3s?user=k3s&password=pw"] {
            expectError(load("defaults: {k3s: {config: {datastore-endpoint: \"\(endpoint)\"}}}\n" + Self.stores), containing: "holds a password")
        }
    }

    @Test func envSecretsGoToTheServiceEnvironmentNotConfigYAML() throws {
        let text = """
            defaults:
              k3s:
                binary: ./bin/k3s
                config:
                  disable: [traefik]
                  datastore-endpoint: !env PG_DSN
                  etcd-s3-secret-key: !env S3_SECRET
                  vpn-auth: !env VPN_AUTH
            \(Self.stores)
            """
        let dsn = #"postgres://k3s:p@ss"w$rd`x\y@db:5432/k3s"#
        let environment = ["PG_DSN": dsn, "S3_SECRET": "s3cr3t-key", "VPN_AUTH": "name=tailscale,joinKey=s3cr3t-join"]
        let store = try load(text, environment: environment).get().stores[0]
        let artifact = LocalArtifact(path: "/work/bin/k3s", sha256: "ab", size: 1, architecture: .amd64)
        let server = HostDesiredState(host: store.hosts[0], store: store, mode: .upload(binary: artifact, images: []), initSystem: .systemd)
        let agent = HostDesiredState(host: store.hosts[1], store: store, mode: .upload(binary: artifact, images: []), initSystem: .openrc)

        for config in [server.config, agent.config] {
            #expect(!config.rendered.contains("s3cr3t") && !config.rendered.contains("p@ss"), "\(config.rendered)")
            #expect(config["datastore-endpoint"] == nil && config["etcd-s3-secret-key"] == nil && config["vpn-auth"] == nil)
        }
        #expect(server.config["disable"] == .list([.string("traefik")]))

        let serverEnvironment = try #require(server.service?.environment)
        #expect(serverEnvironment.contains(#"K3S_DATASTORE_ENDPOINT="postgres://k3s:p@ss\"w\$rd\`x\\y@db:5432/k3s""#), "\(serverEnvironment)")
        #expect(serverEnvironment.contains(#"AWS_SECRET_ACCESS_KEY="s3cr3t-key""#))
        #expect(serverEnvironment.contains(#"K3S_VPN_AUTH="name=tailscale,joinKey=s3cr3t-join""#))
        let agentEnvironment = try #require(agent.service?.environment)
        #expect(agentEnvironment.contains(#"K3S_VPN_AUTH="name=tailscale,joinKey=s3cr3t-join""#), "vpn-auth is an agent flag")
        #expect(!agentEnvironment.contains("AWS_") && !agentEnvironment.contains("DATASTORE"), "server secrets stay on servers")
        #expect(server.service?.environmentPath == "/etc/systemd/system/k3s.service.env")
        #expect(agent.service?.environmentPath == "/etc/rancher/k3s/k3s-agent.env")

        // What sh makes of the OpenRC form (systemd reads the same quoting): the value, exactly.
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", serverEnvironment + "printf %s \"$K3S_DATASTORE_ENDPOINT\""]
        let output = Pipe()
        shell.standardOutput = output
        try shell.run()
        shell.waitUntilExit()
        #expect(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == dsn)

        // A changed secret changes the service files (so apply rewrites them and restarts k3s);
        // the inventory's fingerprint and JSON carry the variables' names only.
        var rotated = environment
        rotated["S3_SECRET"] = "s3cr3t-rotated"
        let rotatedStore = try load(text, environment: rotated).get().stores[0]
        let rotatedServer = HostDesiredState(
            host: rotatedStore.hosts[0], store: rotatedStore, mode: .upload(binary: artifact, images: []), initSystem: .systemd)
        #expect(rotatedServer.serviceSHA256 != server.serviceSHA256)
        #expect(rotatedServer.config.fingerprint == server.config.fingerprint)
        let json = String(decoding: try JSONEncoder().encode(store), as: UTF8.self)
        #expect(json.contains("S3_SECRET") && !json.contains("s3cr3t") && !json.contains("p@ss"), "\(json)")
    }

    @Test func aMissingVariableStopsLoading() {
        let result = load("""
            defaults:
              k3s:
                binary: ./bin/k3s
                config: {etcd-s3-secret-key: !env S3_SECRET}
            \(Self.stores)  - {name: s2, hosts: [{address: 10.0.1.1, role: server}]}
            """)
        let error = expectError(result, containing: "'etcd-s3-secret-key' reads the environment variable S3_SECRET, which is not set", at: (4, 34))
        #expect(error?.hint?.contains("export S3_SECRET") == true)
    }

    @Test func envIsOnlyForSecretKeysAndNeedsTheUploadedBinary() {
        let plainKey = load("defaults: {k3s: {binary: ./k3s, config: {node-ip: !env NODE_IP}}}\n" + Self.stores, environment: ["NODE_IP": "1"])
        let plain = expectError(plainKey, containing: "k3s config key 'node-ip' cannot read the environment (!env)")
        #expect(plain?.hint?.contains("datastore-endpoint") == true)
        let installer = load("defaults: {k3s: {config: {etcd-s3-secret-key: !env S3}}}\n" + Self.stores, environment: ["S3": "x"])
        expectError(installer, containing: "'etcd-s3-secret-key' reads the environment, which needs k3s.binary")
        let inList = load("defaults: {k3s: {binary: ./k3s, config: {vpn-auth: [!env VPN]}}}\n" + Self.stores, environment: ["VPN": "x"])
        expectError(inList, containing: "'vpn-auth' holds a secret")
    }

    @Test func keysThatMoveWhatEdgeupReadsAreRefused() {
        let result = load("""
            defaults:
              k3s:
                config:
                  data-dir: /opt/k3s
                  d: /opt/k3s
                  write-kubeconfig: /tmp/admin.yaml
                  write-kubeconfig-mode: "0644"
                  write-kubeconfig-group: admins
                  cluster-secret: hunter2
            \(Self.stores)
            """)
        let dataDir = expectError(result, containing: "k3s config key 'data-dir' is not supported by edgeup", at: (4, 7))
        #expect(dataDir?.hint?.contains("/var/lib/rancher/k3s") == true)
        expectError(result, containing: "'d' is k3s's short alias for 'data-dir'", at: (5, 7))
        expectError(result, containing: "'write-kubeconfig' is not supported by edgeup", at: (6, 7))
        let mode = expectError(result, containing: "'write-kubeconfig-mode' would let other users read k3s.yaml", at: (7, 7))
        #expect(mode?.hint?.contains("cluster-admin") == true)
        expectError(result, containing: "'write-kubeconfig-group' is not supported by edgeup", at: (8, 7))
        expectError(result, containing: "'cluster-secret' is managed by edgeup", at: (9, 7))
        #expect(result.errors.count == 6, "\(result.errors)")

        let ownerOnly = load("defaults: {k3s: {config: {write-kubeconfig-mode: \"0600\"}}}\n" + Self.stores)
        #expect(ownerOnly.errors.isEmpty, "an owner-only mode keeps k3s.yaml root-only: \(ownerOnly.errors)")
    }
}
