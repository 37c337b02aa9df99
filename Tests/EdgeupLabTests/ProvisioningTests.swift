import EdgeupTestSupport
import Foundation
import Testing

/// edgeup against the lab, end to end: real sshd, real libssh2, real kubectl, and the k3s test
/// double as the binary edgeup uploads (it never knows it is a double).
extension LabTests {
@Suite struct ProvisioningTests {
    static let fleet = """
        bastions: [{name: bastion-eu}]
        stores:
          - {name: shop, servers: 1, agents: 0}
          - {name: ha, servers: 3, agents: 2, gateway: true, via: bastion-eu}
          - {name: five, servers: 5, agents: 0}
        """

    func environment(_ lab: Lab) -> [String: String] {
        ["KUBECONFIG": lab.directory + "/kubeconfig", "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1"]
    }

    /// `file` → mtime seconds and the service's start time, for every host of the stores given.
    func fingerprints(_ lab: Lab, stores: Set<String>) throws -> [String: String] {
        var result: [String: String] = [:]
        for host in lab.hosts.values where stores.contains(host.store ?? "") {
            let service = host.role == "agent" ? "k3s-agent" : "k3s"
            let run = try lab.exec(host.name, "stat -c %Y /etc/rancher/k3s/config.yaml /usr/local/bin/k3s; systemctl show -p ActiveEnterTimestamp -p NRestarts \(service)")
            result[host.name] = run.stdout
        }
        return result
    }

    @Test func fleetInstallsConvergesAndStaysConverged() async throws {
        try await Lab.with(spec: Self.fleet, subnet: "10.81.0.0/16") { lab in
            _ = try lab.buildDouble()
            let inventory = try lab.inventory(k3s: "binary: ./k3s")
            let env = environment(lab)

            let plan = try edgeup(["plan", inventory, "--detailed-exitcode"], environment: env)
            #expect(plan.status == 2, "changes pending: \(plan.stdout)\(plan.stderr)")
            #expect(plan.stdout.contains("Plan: 3 stores — 0 converged, 3 with changes, 0 blocked"))

            // Watch every process on the machine during apply: the token must never be in an argv.
            let watcher = ArgvWatcher()
            let apply = try watcher.watching {
                try edgeup(["apply", inventory, "--report-junit", lab.directory + "/junit.xml"], environment: env)
            }
            #expect(apply.status == 0, "\(apply.stderr)")
            #expect(apply.stderr.contains("Every selected store converged."))

            // Every node registered with its role (the HA store is behind bastion → gateway).
            let ha = try lab.exec("ha-s1", "k3s kubectl get nodes --no-headers").stdout
            #expect(ha.split(separator: "\n").count == 5)
            for server in ["ha-s1", "ha-s2", "ha-s3"] {
                #expect(ha.split(separator: "\n").contains { $0.hasPrefix(server) && $0.contains(" Ready ") && $0.contains("etcd") })
            }
            #expect(ha.split(separator: "\n").filter { $0.contains("<none>") && $0.contains(" Ready ") }.count == 2)
            let five = try lab.exec("five-s1", "k3s kubectl get nodes --no-headers").stdout
            #expect(five.split(separator: "\n").filter { $0.contains(" Ready ") && $0.contains("etcd") }.count == 5)

            // Real kubectl, through the merged kubeconfig, for the store the operator can reach.
            let nodes = try runProcess("/usr/bin/kubectl", ["--context", "shop", "get", "nodes", "--no-headers"], environment: env)
            #expect(nodes.status == 0, "\(nodes.stderr)")
            #expect(nodes.stdout.hasPrefix("shop-s1 ") && nodes.stdout.contains(" Ready "))
            let fiveNodes = try runProcess("/usr/bin/kubectl", ["--context", "five", "get", "nodes", "--no-headers"], environment: env)
            #expect(fiveNodes.stdout.split(separator: "\n").filter { $0.contains(" Ready ") }.count == 5, "\(fiveNodes.stderr)")
            let contexts = try runProcess("/usr/bin/kubectl", ["config", "get-contexts", "-o", "name"], environment: env)
            #expect(Set(contexts.stdout.split(separator: "\n").map(String.init)) == ["shop", "ha", "five"])

            // exec reaches every server, through the gateway chain too, prefixing each line.
            let exec = try edgeup(["exec", inventory, "--role", "server", "--", "hostname"], environment: env)
            #expect(exec.status == 0, "\(exec.stderr)")
            #expect(exec.stdout.contains("ha/ha-s2 | ha-s2") && exec.stdout.contains("shop/shop-s1 | shop-s1"))
            #expect(exec.stderr.contains("9 hosts: 9 ok, 0 failed"))

            // No secret in any argv, output, journal or log.
            let token = try lab.exec("ha-s1", "cat /var/lib/rancher/k3s/server/token").stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let secret = String(token.split(separator: ":").last ?? "")
            #expect(token.hasPrefix("K10") && secret.count >= 16)
            #expect(watcher.samples > 10, "the watcher looked often enough")
            #expect(!watcher.seen.contains { $0.contains(secret) }, "the join token appeared in a process's argv")
            #expect(!apply.stdout.contains(secret) && !apply.stderr.contains(secret))
            let stateFiles = try runProcess("/bin/grep", ["-r", "-l", secret, lab.directory + "/state"])
            #expect(stateFiles.stdout.isEmpty, "journal or host logs hold the token: \(stateFiles.stdout)")
            let junit = try String(contentsOfFile: lab.directory + "/junit.xml", encoding: .utf8)
            #expect(junit.contains(#"tests="3" failures="0""#))

            // A re-run changes nothing: the plan says so, and no file or service was touched.
            let before = try fingerprints(lab, stores: ["shop", "ha", "five"])
            let again = try edgeup(["plan", inventory, "--detailed-exitcode"], environment: env)
            #expect(again.status == 0, "\(again.stdout)")
            #expect(again.stdout.contains("Nothing to do"))
            let reapply = try edgeup(["apply", inventory], environment: env)
            #expect(reapply.status == 0)
            #expect(reapply.stderr.contains("converged      3 (3 had nothing to do)"))
            #expect(try fingerprints(lab, stores: ["shop", "ha", "five"]) == before)

            // A server-only setting restarts only the servers, one at a time, each Ready before the next.
            let changed = try lab.inventory(k3s: "binary: ./k3s, config: {disable: [traefik]}", name: "changed.yaml")
            let changePlan = try edgeup(["plan", changed, "--stores", "ha"], environment: env)
            #expect(changePlan.stdout.contains("write-config ha-s2: config.yaml differs: disable"), "\(changePlan.stdout)\(changePlan.stderr)")
            #expect(!changePlan.stdout.contains("ha-a1"), "agents do not take 'disable'")
            let agents = Set(lab.hosts.values.filter { $0.role == "agent" }.map(\.name))
            let agentsBefore = try fingerprints(lab, stores: ["ha"]).filter { agents.contains($0.key) }
            // The same fleet as the first apply (by default named by its inventory file), so edgeup
            // may replace the kubeconfig entries that apply wrote.
            let change = try edgeup(["apply", changed, "--stores", "ha", "--fleet", inventory], environment: env)
            #expect(change.status == 0, "\(change.stderr)")
            #expect(try fingerprints(lab, stores: ["ha"]).filter { agents.contains($0.key) } == agentsBefore)
            let order = change.stderr.split(separator: "\n").filter { $0.contains("restart: changed") || $0.contains("Ready") }
                .map { $0.split(separator: " ")[1] }
            #expect(order == ["ha/ha-s1", "ha/ha-s1", "ha/ha-s2", "ha/ha-s2", "ha/ha-s3", "ha/ha-s3"], "\(order)")
        }
    }
}
}

/// Samples every process's command line on the machine (lab hosts' PID namespaces are visible from
/// the root namespace) while some work runs, from its own thread.
final class ArgvWatcher: @unchecked Sendable {
    private let lock = NSLock()
    private var lines = Set<String>()
    private var count = 0

    var seen: Set<String> { lock.withLock { lines } }
    var samples: Int { lock.withLock { count } }

    func watching<T>(_ work: () throws -> T) rethrows -> T {
        let sampler = onThread { stop in
            while !stop.isSet {
                self.sample()
                usleep(20_000)
            }
        }
        defer {
            sampler.stop.set()
            sampler.done.wait()
        }
        return try work()
    }

    private func sample() {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.filter { $0.allSatisfy(\.isNumber) } ?? []
        var found: [String] = []
        for pid in pids {
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { continue }
            found.append(String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self))
        }
        lock.withLock {
            lines.formUnion(found)
            count += 1
        }
    }
}
