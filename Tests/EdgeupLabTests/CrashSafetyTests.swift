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
          - {name: nameless, servers: 1, agents: 1}
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
            // The nameless store's agent registers under its hostname, which the host reports itself;
            // readiness would name that node in a command on the store's server.
            let text = try String(contentsOfFile: base, encoding: .utf8)
                .replacingOccurrences(of: "{name: nameless-a1, ", with: "{")
            let inventory = lab.directory + "/safety.yaml"
            try text.write(toFile: inventory, atomically: true, encoding: .utf8)
            let env = environment(lab)
            try lab.exec("nameless-a1", "printf '%s' 'x;touch /tmp/p;' > /proc/sys/kernel/hostname")

            let apply = try edgeup(["apply", inventory], environment: env)
            #expect(apply.status == 1, "the nameless store is refused: \(apply.stderr)")
            #expect(apply.stderr.contains("is not a valid Kubernetes node name"), "\(apply.stderr)")
            #expect(apply.stderr.contains("converged      2"), "\(apply.stderr)")
            for host in ["nameless-s1", "nameless-a1"] {
                #expect(try lab.exec(host, "test -e /tmp/p && echo planted || echo clean").stdout.contains("clean"))
                #expect(try lab.exec(host, "test -e /usr/local/bin/k3s && echo touched || echo untouched").stdout
                    .contains("untouched"), "nothing was installed in the refused store")
            }

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

    @Test func storeLockAndSIGINT() async throws {
        try await Lab.with(spec: "stores:\n  - {name: shop, servers: 1, agents: 1}\n", subnet: "10.96.0.0/16") { lab in
            _ = try lab.buildDouble()
            let inventory = try lab.inventory(k3s: "binary: ./k3s")
            let env = environment(lab)
            #expect(try edgeup(["apply", inventory], environment: env).status == 0)
            func labelled(_ value: String) throws -> String {
                let text = try String(contentsOfFile: inventory, encoding: .utf8).replacingOccurrences(
                    of: "{name: shop-s1, ", with: "{labels: {edgeup.test/run: \"\(value)\"}, name: shop-s1, ")
                let path = lab.directory + "/\(value).yaml"
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                return path
            }
            let lock = "/var/lib/edgeup/store.lock"

            // Another run holds a live lock: the store is refused, the lock left as it was.
            try lab.exec("shop-s1", "printf 'other-run %s someone@laptop pid 1\\n' $(( $(date +%s) + 600 )) > \(lock)")
            let locked = try edgeup(["apply", try labelled("one")], environment: env)
            #expect(locked.status == 1)
            #expect(locked.stderr.contains("the store is locked by run other-run (someone@laptop pid 1)"), "\(locked.stderr)")
            #expect(try lab.exec("shop-s1", "cat \(lock)").stdout.hasPrefix("other-run "))

            // Its lease ended: the lock is taken over (and said so), then released.
            try lab.exec("shop-s1", "printf 'other-run %s someone@laptop pid 1\\n' $(( $(date +%s) - 5 )) > \(lock)")
            let takeover = try edgeup(["apply", try labelled("one"), "--output", "json"], environment: env)
            #expect(takeover.status == 0, "\(takeover.stderr)")
            #expect(takeover.stdout.contains("took over the store lock of run other-run (someone@laptop pid 1)"), "\(takeover.stdout)")
            #expect(try lab.exec("shop-s1", "test -e \(lock) && echo held || echo free").stdout.contains("free"))

            // SIGINT while a restart stalls: a clean stop (summary, journal, lock released), exit 130.
            try lab.exec("shop-s1", "touch /run/lab-systemd/hold-restart")
            let started = try lab.startEdgeup(["apply", try labelled("two")], env: env)
            #expect(try lab.waitForStep(started.earlier, host: "shop-s1", action: "restart"))
            kill(started.process.processIdentifier, SIGINT)
            let stopped = Date().addingTimeInterval(30)
            while started.process.isRunning, Date() < stopped { usleep(100_000) }
            #expect(!started.process.isRunning, "edgeup stopped on SIGINT")
            #expect(started.process.terminationStatus == 130)
            let stderr = try String(contentsOfFile: started.stderr, encoding: .utf8)
            #expect(stderr.contains("SIGINT: stopping"), "\(stderr)")
            #expect(stderr.contains("interrupted"), "the summary says why the store failed: \(stderr)")
            let journal = try lab.journalText(excluding: started.earlier)
            #expect(journal.contains(#""kind":"run-finished""#) && journal.contains("interrupted by signal 2"))
            #expect(try lab.exec("shop-s1", "test -e \(lock) && echo held || echo free").stdout.contains("free"))
            try lab.exec("shop-s1", "rm -f /run/lab-systemd/hold-restart")
            let resumed = try edgeup(["apply", try labelled("two")], environment: env)
            #expect(resumed.status == 0, "\(resumed.stderr)")
        }
    }

    /// Runs `edgeup apply` and SIGKILLs it once it has started restarting `host`; true if it was killed.
    func applyKilledAtRestart(_ lab: Lab, _ inventory: String, host: String, env: [String: String]) throws -> Bool {
        let started = try lab.startEdgeup(["apply", inventory, "--stores", "shop"], env: env)
        guard try lab.waitForStep(started.earlier, host: host, action: "restart") else {
            started.process.terminate()
            return false
        }
        kill(started.process.processIdentifier, SIGKILL)
        started.process.waitUntilExit()
        return started.process.terminationReason == .uncaughtSignal
    }
}
}
