import EdgeupTestSupport
import Foundation
import Testing

/// A fleet of 33 stores (single servers, HA stores behind gateways and a bastion, broken stores):
/// canary, failure containment, SIGKILL mid-apply and re-run, convergence, shards.
extension LabTests {
@Suite struct FleetTests {
    static var spec: String {
        var lines = ["bastions: [{name: bastion-eu}]", "stores:"]
        // First in order, so it is the canary: its binary is built for another CPU.
        lines.append("  - {name: canary-bad, servers: 1, agents: 0}")
        for i in 1...26 {
            lines.append("  - {name: shop-\(String(format: "%02d", i)), servers: 1, agents: \(i % 5 == 0 ? 1 : 0), labels: {health: good}}")
        }
        for i in 1...4 {
            let via = i <= 2 ? ", via: bastion-eu" : ""
            lines.append("  - {name: ha-\(i), servers: 3, agents: 1, gateway: true\(via), labels: {health: good}}")
        }
        lines.append("  - {name: dead-1, servers: 1, agents: 1}")
        lines.append("  - {name: dead-2, servers: 1, agents: 1}")
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func fleetRollout() async throws {
        try await Lab.with(spec: Self.spec, subnet: "10.84.0.0/16") { lab in
            _ = try lab.buildDouble()
            _ = try lab.buildDouble(arch: "arm64", name: "k3s-arm64")
            let inventory = try lab.inventory(k3s: "binary: ./k3s", stores: ["canary-bad": "k3s: {binary: ./k3s-arm64}"])
            let env = ["KUBECONFIG": lab.directory + "/kubeconfig", "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1"]
            try lab.host("stop", "dead-1-a1")
            try lab.host("stop", "dead-2-a1")
            let stores = Set(lab.hosts.values.compactMap(\.store))
            #expect(stores.count == 33)

            // Shards 1/3..3/3 cover every store exactly once.
            var sharded: [String] = []
            for index in 1...3 {
                let run = try edgeup(["plan", inventory, "--shard", "\(index)/3", "--output", "json"], environment: env)
                let plan = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
                sharded += (plan?["stores"] as? [[String: Any]] ?? []).compactMap { $0["store"] as? String }
            }
            #expect(sharded.count == 33 && Set(sharded) == stores)

            // The plan shows all the work, and the three broken stores as blocked.
            let plan = try edgeup(["plan", inventory, "--detailed-exitcode"], environment: env)
            #expect(plan.status == 1)
            #expect(plan.stdout.contains("Plan: 33 stores — 0 converged, 30 with changes, 3 blocked"), "\(plan.stdout.prefix(400))")

            // A failing canary stops the rollout: nothing else starts.
            let canary = try edgeup(["apply", inventory, "--canary", "1"], environment: env)
            #expect(canary.status == 1)
            #expect(canary.stderr.contains("not started    32"))
            #expect(canary.stderr.contains("Not started (canary failed):"))
            let untouched = try lab.exec("shop-01-s1", "test -e /usr/local/bin/k3s && echo installed || echo absent").stdout
            #expect(untouched.trimmingCharacters(in: .whitespacesAndNewlines) == "absent")

            // SIGKILL in the middle of an apply, then run again: the rest converges.
            let killed = try await applyKilledMidway(inventory, env: env, journalFolder: lab.directory + "/state/runs")
            #expect(killed > 0 && killed < 33, "killed after \(killed) stores finished")
            let rerun = try edgeup(["apply", inventory, "--max-concurrent-stores", "20"], environment: env)
            #expect(rerun.status == 1, "the broken stores still fail")
            #expect(rerun.stderr.contains("converged      30"), "\(rerun.stderr.suffix(1500))")
            #expect(rerun.stderr.contains("failed         3"))
            for name in ["dead-1", "dead-2", "canary-bad"] {
                #expect(rerun.stderr.contains("  \(name):\n"), "the summary names \(name)")
            }
            #expect(rerun.stderr.contains("dead-1/dead-1-a1: preflight: unreachable"))

            // Converged: the healthy stores plan to nothing, with the exit code CI checks.
            let after = try edgeup(["plan", inventory, "--selector", "health=good", "--detailed-exitcode"], environment: env)
            #expect(after.status == 0, "\(after.stdout.prefix(600))")
            let status = try edgeup(["status", inventory, "--output", "json"], environment: env)
            let rows = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]] ?? []
            #expect(rows.filter { $0["state"] as? String == "converged" }.count == 30)
            #expect(rows.filter { $0["state"] as? String == "failed" }.count == 3)
        }
    }

    /// Starts an apply, kills it with SIGKILL once a few stores have finished; returns how many had.
    func applyKilledMidway(_ inventory: String, env: [String: String], journalFolder: String) async throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: edgeupExecutable)
        process.arguments = ["apply", inventory, "--max-concurrent-stores", "4"]
        process.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let runsBefore = Set((try? FileManager.default.contentsOfDirectory(atPath: journalFolder)) ?? [])
        try process.run()
        var finished = 0
        let deadline = Date().addingTimeInterval(180)
        while process.isRunning, Date() < deadline {
            let runs = Set((try? FileManager.default.contentsOfDirectory(atPath: journalFolder)) ?? []).subtracting(runsBefore)
            if let run = runs.first,
                let text = try? String(contentsOfFile: journalFolder + "/" + run + "/journal.jsonl", encoding: .utf8)
            {
                finished = text.split(separator: "\n").filter { $0.contains(#""kind":"store-finished""#) && $0.contains(#""outcome":"ok""#) }.count
                if finished >= 6 {
                    kill(process.processIdentifier, SIGKILL)
                    break
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the apply was killed, not finished")
        return finished
    }
}
}
