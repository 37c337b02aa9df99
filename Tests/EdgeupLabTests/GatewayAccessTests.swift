import EdgeupTestSupport
import Foundation
import Testing

/// kubectl on the operator's machine reaches stores that only SSH through gateways can reach: a
/// store behind a two-hop chain and a store behind its own gateway on the same LAN range (both
/// servers are 192.168.50.11), through `edgeup proxy` and through `edgeup kubectl`.
extension LabTests {
@Suite struct GatewayAccessTests {
    static let spec = """
        bastions:
          - {name: bastion}
        stores:
          - {name: direct, servers: 1, agents: 0}
          - {name: far, servers: 1, agents: 0, gateway: true, via: bastion}
          - {name: near, servers: 1, agents: 1, gateway: true}
        """

    @Test func kubectlReachesEachStoreThroughItsOwnGatewayChain() async throws {
        try await Lab.with(spec: Self.spec, subnet: "10.99.0.0/16") { lab in
            _ = try lab.buildDouble()
            let inventory = try lab.inventory(k3s: "binary: ./k3s")
            let port = try freePort()
            let kubeconfig = lab.directory + "/kubeconfig"
            let env = ["KUBECONFIG": kubeconfig, "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1",
                       "EDGEUP_PROXY": "127.0.0.1:\(port)"]
            func kubectl(_ arguments: [String]) throws -> ProcessRun {
                try runProcess("/usr/bin/kubectl", ["--request-timeout=20s"] + arguments, environment: env)
            }
            func nodes(_ context: String) throws -> [String] {
                let run = try kubectl(["--context", context, "get", "nodes", "-o", "name"])
                guard run.status == 0 else { return ["failed: \(run.stderr)"] }
                return run.stdout.split(separator: "\n").map(String.init).sorted()
            }
            let apply = try edgeup(["apply", inventory], environment: env)
            #expect(apply.status == 0, "\(apply.stderr)")
            #expect(!apply.stderr.contains("ERROR"))

            // Entries of stores behind gateways name the store's route and the proxy; TLS is
            // checked against the store's CA for the server's own address. Direct stores: unchanged.
            func cluster(_ name: String, _ field: String) throws -> String {
                try kubectl(["config", "view", "-o", "jsonpath={.clusters[?(@.name==\"\(name)\")].cluster.\(field)}"]).stdout
            }
            #expect(try cluster("far", "server") == "https://far.edgeup.invalid:6443")
            #expect(try cluster("far", "proxy-url") == "socks5://127.0.0.1:\(port)")
            #expect(try cluster("near", "tls-server-name") == "192.168.50.11")
            #expect(try cluster("direct", "server") == "https://\(try #require(lab.hosts["direct-s1"]).address):6443")
            #expect(try cluster("direct", "proxy-url") == "")

            let withoutProxy = try kubectl(["--context", "far", "get", "nodes"])
            #expect(withoutProxy.status != 0, "nothing listens yet: \(withoutProxy.stdout)")

            let proxy = try BackgroundEdgeup(["proxy", inventory], environment: env, in: lab.directory)
            defer { proxy.stop() }
            let listening = try proxy.waitForStdout(containing: "listening on socks5://127.0.0.1:\(port)")
            #expect(listening, "the proxy says where it listens: \(proxy.stdout) \(proxy.stderr)")

            // The same address on two LANs: each context gets its own store's nodes.
            #expect(try nodes("far") == ["node/far-s1"])
            #expect(try nodes("near") == ["node/near-a1", "node/near-s1"])
            #expect(try nodes("direct") == ["node/direct-s1"], "direct stores need no proxy")

            // 50 kubectl at once through one gateway session.
            let parallel = try runProcess("/bin/bash", ["-c", """
                mkdir -p \(lab.directory)/par && seq 50 | xargs -P 50 -I{} sh -c \
                  'kubectl --request-timeout=60s --context near get nodes -o name > \(lab.directory)/par/{} 2>&1 || echo failed {}'
                """], environment: env)
            #expect(parallel.stdout.isEmpty && parallel.status == 0, "every call succeeds: \(parallel.stdout)")
            let outputs = try (1...50).map { try String(contentsOfFile: "\(lab.directory)/par/\($0)", encoding: .utf8) }
            #expect(Set(outputs) == ["node/near-a1\nnode/near-s1\n"], "\(Set(outputs))")

            // A cut gateway link fails calls while it lasts; once restored, the proxy carries again.
            try lab.host("cut", "near-gw")
            let duringCut = try runProcess("/usr/bin/kubectl", ["--request-timeout=5s", "--context", "near", "get", "nodes"], environment: env)
            #expect(duringCut.status != 0)
            try lab.host("restore", "near-gw")
            #expect(try nodes("near") == ["node/near-a1", "node/near-s1"], "after the link is back")
            // The gateway's sshd and its sessions killed and sshd started again: the session the
            // proxy held is gone for sure.
            try lab.exec("near-gw", "pkill -9 sshd; rm -f /run/sshd.pid")
            try lab.host("start-sshd", "near-gw")
            #expect(try nodes("near") == ["node/near-a1", "node/near-s1"], "after a new login to the gateway")
            #expect(try nodes("far") == ["node/far-s1"], "the other chain was never affected")

            // Until interrupted; one line per connection, which way it went, no secrets.
            let status = proxy.stop()
            #expect(status == 0, "SIGTERM ends the proxy cleanly: \(proxy.stderr)")
            let lines = proxy.stderr.split(separator: "\n")
            #expect(lines.contains { $0.contains(" far 127.0.0.1:") && $0.contains("→ far/far-s1 192.168.50.11:6443 via bastion/far-gw:") })
            #expect(lines.contains { $0.contains(" near 127.0.0.1:") && $0.contains("→ near/near-s1 192.168.50.11:6443 via near-gw:") })
            #expect(lines.filter { $0.contains(" near 127.0.0.1:") }.count >= 50)
            #expect(lines.contains { $0.contains("refused near.edgeup.invalid:6443") }, "the failed call during the cut is logged")
            #expect(!proxy.stderr.contains("BEGIN") && !proxy.stderr.contains("client-key"))

            // edgeup kubectl needs no running proxy, and passes kubectl's status on.
            let oneShot = try edgeup(["kubectl", inventory, "far", "--", "get", "nodes", "-o", "name"], environment: env)
            #expect(oneShot.status == 0 && oneShot.stdout == "node/far-s1\n", "\(oneShot.stderr)")
            let missing = try edgeup(["kubectl", inventory, "near", "--", "get", "namespace", "no-such-namespace"], environment: env)
            #expect(missing.status == 1 && missing.stderr.contains("not found"), "\(missing.stderr)")
            let fromEnvironment = try edgeup(["kubectl", "direct", "--", "get", "nodes", "-o", "name"],
                                             environment: env.merging(["EDGEUP_INVENTORY": inventory]) { $1 })
            #expect(fromEnvironment.stdout == "node/direct-s1\n", "\(fromEnvironment.stderr)")
            let unknown = try edgeup(["kubectl", inventory, "nera", "--", "get", "nodes"], environment: env)
            #expect(unknown.status == 1 && unknown.stderr.contains("no store named 'nera' in the inventory (did you mean 'near'?)"), "\(unknown.stderr)")

            // A broken chain and a changed host key are refused, naming the hop.
            try lab.host("kill-sshd", "far-gw")
            let broken = try edgeup(["kubectl", inventory, "far", "--", "get", "nodes"], environment: env)
            #expect(broken.status == 1 && broken.stderr.contains("far/far-s1: fetch-kubeconfig: connect: gateway far-gw failed at connect: gateway bastion could not open a connection to 172.30.1.2:22"), "\(broken.stderr)")
            try lab.host("start-sshd", "far-gw")
            let knownHosts = try String(contentsOfFile: lab.directory + "/known_hosts", encoding: .utf8).split(separator: "\n")
            let bastionAddress = try #require(lab.hosts["bastion"]).address
            let bastionKey = try #require(knownHosts.first { $0.hasPrefix(bastionAddress + " ") })
            let swapped = knownHosts.map { line in
                line.hasPrefix("bastion/172.30.1.2 ") ? "bastion/172.30.1.2 " + bastionKey.split(separator: " ").dropFirst().joined(separator: " ") : String(line)
            }
            try (swapped.joined(separator: "\n") + "\n").write(toFile: lab.directory + "/known_hosts.swapped", atomically: true, encoding: .utf8)
            let changedInventory = lab.directory + "/changed-key.yaml"
            try String(contentsOfFile: inventory, encoding: .utf8)
                .replacingOccurrences(of: "knownHostsFile: ./known_hosts", with: "knownHostsFile: ./known_hosts.swapped")
                .write(toFile: changedInventory, atomically: true, encoding: .utf8)
            let changed = try edgeup(["kubectl", changedInventory, "far", "--", "get", "nodes"], environment: env)
            #expect(changed.status == 1 && changed.stderr.contains("far-gw") && changed.stderr.contains("host key"), "\(changed.stderr)")

            // Entries merged before are brought up to date by the next edgeup kubeconfig.
            _ = try kubectl(["config", "unset", "clusters.near.proxy-url"])
            _ = try kubectl(["config", "set-cluster", "near", "--server=https://192.168.50.11:6443"])
            #expect(try cluster("near", "proxy-url") == "")
            let refetch = try edgeup(["kubeconfig", inventory, "--stores", "near"], environment: env)
            #expect(refetch.status == 0, "\(refetch.stderr)")
            #expect(try cluster("near", "proxy-url") == "socks5://127.0.0.1:\(port)")
            #expect(try cluster("near", "server") == "https://near.edgeup.invalid:6443")
        }
    }

    /// A port nothing listens on right now (the kernel's pick, released at once).
    func freePort() throws -> Int {
        let run = try runProcess("/usr/bin/python3", ["-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"])
        return try #require(Int(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    }
}
}

/// edgeup running in the background (the proxy), its output collected in files.
final class BackgroundEdgeup: @unchecked Sendable {
    private let process = Process()
    private let out: String
    private let err: String

    init(_ arguments: [String], environment: [String: String], in directory: String) throws {
        out = directory + "/background-\(UUID().uuidString.prefix(6)).out"
        err = out.replacingOccurrences(of: ".out", with: ".err")
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        process.executableURL = URL(fileURLWithPath: edgeupExecutable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var stdout: String { (try? String(contentsOfFile: out, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: err, encoding: .utf8)) ?? "" }

    /// Polls for `text` on stdout for up to 20 s; false if the process ended or it never came.
    func waitForStdout(containing text: String) throws -> Bool {
        for _ in 0..<200 {
            if stdout.contains(text) { return true }
            if !process.isRunning { return false }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    var isRunning: Bool { process.isRunning }

    /// SIGTERM, then its exit status (nil after 20 s: then it is killed).
    @discardableResult
    func stop() -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        for _ in 0..<200 where process.isRunning { Thread.sleep(forTimeInterval: 0.1) }
        guard !process.isRunning else {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        return process.terminationStatus
    }
}
