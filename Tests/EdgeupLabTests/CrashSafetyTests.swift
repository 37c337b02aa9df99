import EdgeupTestSupport
import Foundation
import Testing

/// What a hostile host cannot make edgeup do, what agents may hold, and what a run killed at the
/// worst moment leaves for the next one (issue #12, findings 3, 4 and 6).
extension LabTests {
@Suite struct CrashSafetyTests {
    static let spec = """
        stores:
          - {name: shop, servers: 1, agents: 1}
          - {name: ha, servers: 3, agents: 1}
          - {name: nameless, servers: 1, agents: 0}
        """

    func environment(_ lab: Lab) -> [String: String] {
        ["KUBECONFIG": lab.directory + "/kubeconfig", "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1"]
    }

    /// The secret part of the cluster's server token, read on a server.
    func serverSecret(_ lab: Lab, _ server: String) throws -> String {
        let token = try lab.exec(server, "cat /var/lib/rancher/k3s/server/token").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return token.components(separatedBy: "::server:").last ?? ""
    }

    /// Every file on `host` that holds `secret` (k3s's and edgeup's folders, /run and /tmp).
    func filesHolding(_ secret: String, on host: String, _ lab: Lab) throws -> String {
        try lab.exec(host, "grep -rlF -- '\(secret)' /etc /var/lib/rancher /var/lib/edgeup /run /tmp /usr/local 2>/dev/null || true")
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func hostileHostnameAgentTokensAndAKilledRestart() async throws {
        try await Lab.with(spec: Self.spec, subnet: "10.95.0.0/16") { lab in
            _ = try lab.buildDouble()
            let base = try lab.inventory(k3s: "binary: ./k3s")
            // The nameless store's server registers under its hostname, which the host reports itself.
            let text = try String(contentsOfFile: base, encoding: .utf8)
                .replacingOccurrences(of: "{name: nameless-s1, ", with: "{")
            let inventory = lab.directory + "/safety.yaml"
            try text.write(toFile: inventory, atomically: true, encoding: .utf8)
            let env = environment(lab)
            try lab.exec("nameless-s1", "printf '%s' 'x;touch /tmp/p;' > /proc/sys/kernel/hostname")

            let apply = try edgeup(["apply", inventory], environment: env)
            #expect(apply.status == 1, "the nameless store is refused: \(apply.stderr)")
            #expect(apply.stderr.contains("is not a valid Kubernetes node name"), "\(apply.stderr)")
            #expect(apply.stderr.contains("converged      2"), "\(apply.stderr)")
            #expect(try lab.exec("nameless-s1", "test -e /tmp/p && echo planted || echo clean").stdout.contains("clean"))
            #expect(try lab.exec("nameless-s1", "test -e /usr/local/bin/k3s && echo touched || echo untouched").stdout
                .contains("untouched"), "nothing was installed on the refused host")

            // Agents hold the agent token only: never the server token (full cluster admin).
            for (agent, server) in [("shop-a1", "shop-s1"), ("ha-a1", "ha-s1")] {
                let secret = try serverSecret(lab, server)
                #expect(secret.count >= 16)
                #expect(try filesHolding(secret, on: agent, lab).isEmpty, "\(agent) holds the server token")
                let join = try lab.exec(agent, "cat /etc/rancher/k3s/edgeup-join-token").stdout
                #expect(join.contains("::node:"), "the agent token, in its secure form: \(join.prefix(3))…")
            }
            let nodes = try lab.exec("ha-s1", "k3s kubectl get nodes --no-headers").stdout
            #expect(nodes.split(separator: "\n").filter { $0.contains(" Ready ") }.count == 4, "\(nodes)")

            // A store an older edgeup set up: agents on the server token, no agent token on the servers.
            try lab.exec("shop-s1", """
                sed -i '/^agent-token-file:/d' /etc/rancher/k3s/config.yaml && rm -f /etc/rancher/k3s/edgeup-agent-token \
                && systemctl restart k3s
                """)
            let serverToken = try lab.exec("shop-s1", "cat /var/lib/rancher/k3s/server/token").stdout
            try lab.exec("shop-a1", "printf '%s' '\(serverToken.trimmingCharacters(in: .whitespacesAndNewlines))' > /etc/rancher/k3s/edgeup-join-token && systemctl restart k3s-agent")
            let migrationPlan = try edgeup(["plan", inventory, "--stores", "shop"], environment: env)
            #expect(migrationPlan.stdout.contains("the agent holds the server token"), "\(migrationPlan.stdout)")
            #expect(migrationPlan.stdout.contains("write-agent-token shop-s1"), "\(migrationPlan.stdout)")
            let migrate = try edgeup(["apply", inventory, "--stores", "shop"], environment: env)
            #expect(migrate.status == 0, "\(migrate.stderr)")
            #expect(try filesHolding(try serverSecret(lab, "shop-s1"), on: "shop-a1", lab).isEmpty, "migrated")
            #expect(try lab.exec("shop-s1", "k3s kubectl get node shop-a1 --no-headers").stdout.contains(" Ready "))
            let settled = try edgeup(["plan", inventory, "--stores", "shop", "--detailed-exitcode"], environment: env)
            #expect(settled.status == 0, "\(settled.stdout)")

            // SIGKILL between write-config and restart: the restart stalls (a lab fault), edgeup is
            // killed, and the next plan still owes the restart although config.yaml already matches.
            let labelled = try String(contentsOfFile: inventory, encoding: .utf8).replacingOccurrences(
                of: "{name: shop-s1, ", with: "{labels: {edgeup.test/killed: \"yes\"}, name: shop-s1, ")
            let changed = lab.directory + "/changed.yaml"
            try labelled.write(toFile: changed, atomically: true, encoding: .utf8)
            try lab.exec("shop-s1", "touch /run/lab-systemd/hold-restart")
            let pidBefore = try lab.exec("shop-s1", "systemctl show -p MainPID --value k3s").stdout
            let killed = try applyKilledAtRestart(lab, changed, host: "shop-s1", env: env)
            #expect(killed, "edgeup was killed while the restart stalled")
            try lab.exec("shop-s1", "rm -f /run/lab-systemd/hold-restart")
            #expect(try lab.exec("shop-s1", "systemctl show -p MainPID --value k3s").stdout == pidBefore, "k3s still runs the old settings")
            let replan = try edgeup(["plan", changed, "--stores", "shop", "--detailed-exitcode"], environment: env)
            #expect(replan.status == 2, "not converged: \(replan.stdout)")
            #expect(replan.stdout.contains("restart shop-s1") && replan.stdout.contains("interrupted run"), "\(replan.stdout)")
            let resume = try edgeup(["apply", changed, "--stores", "shop"], environment: env)
            #expect(resume.status == 0, "\(resume.stderr)")
            let node = try lab.exec("shop-s1", "k3s kubectl get node shop-s1 -o json").stdout
            let object = try JSONSerialization.jsonObject(with: Data(node.utf8)) as? [String: Any]
            let labels = (object?["metadata"] as? [String: Any])?["labels"] as? [String: String]
            #expect(labels?["edgeup.test/killed"] == "yes", "the new setting took effect: \(labels ?? [:])")
            let done = try edgeup(["plan", changed, "--stores", "shop", "--detailed-exitcode"], environment: env)
            #expect(done.status == 0, "\(done.stdout)")
        }
    }

    /// Runs `edgeup apply` and SIGKILLs it once it has started restarting `host`; true if it was killed.
    func applyKilledAtRestart(_ lab: Lab, _ inventory: String, host: String, env: [String: String]) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: edgeupExecutable)
        process.arguments = ["apply", inventory, "--stores", "shop"]
        process.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let earlier = Set((try? FileManager.default.contentsOfDirectory(atPath: lab.directory + "/state/runs")) ?? [])
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, process.isRunning {
            let runs = Set((try? FileManager.default.contentsOfDirectory(atPath: lab.directory + "/state/runs")) ?? [])
            let journal = runs.subtracting(earlier).compactMap {
                try? String(contentsOfFile: "\(lab.directory)/state/runs/\($0)/journal.jsonl", encoding: .utf8)
            }.joined(separator: "\n")
            if journal.split(separator: "\n").contains(where: {
                $0.contains(#""host":"\#(host)""#) && $0.contains(#""kind":"step-started""#) && $0.contains(#""action":"restart""#)
            }) {
                usleep(500_000)
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return process.terminationReason == .uncaughtSignal
            }
            usleep(50_000)
        }
        process.terminate()
        return false
    }
}
}
