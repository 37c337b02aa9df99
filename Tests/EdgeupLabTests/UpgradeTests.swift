import EdgeupTestSupport
import Foundation
import Testing

/// Rolling upgrades v1.31 → v1.32 across a fleet (issue #14): staged binaries, a snapshot before
/// the first restart, servers one at a time then agents, each gated on the new kubelet version;
/// unsupported moves refused with no host touched; a gate failure contained to its store with the
/// rollback named; a run killed mid-way completed by the next one.
extension LabTests {
@Suite struct UpgradeTests {
    static let spec = """
        bastions:
          - {name: bastion-up}
        stores:
          - {name: lite, servers: 1, agents: 1, datastore: sqlite}
          - {name: ha, servers: 3, agents: 2}
          - {name: chain, servers: 1, agents: 1, gateway: true, via: bastion-up, datastore: sqlite}
          - {name: skip, servers: 1, agents: 0}
          - {name: down, servers: 1, agents: 0}
          - {name: bad, servers: 1, agents: 1, datastore: sqlite}
        """
    static let old = "v1.31.4+k3s1"
    static let new = "v1.32.1+k3s1"

    @Test func aFleetUpgradesOneNodeAtATime() async throws {
        try await Lab.with(spec: Self.spec, subnet: "10.89.0.0/16") { lab in
            _ = try lab.buildDouble(version: Self.old, name: "k3s-131")
            _ = try lab.buildDouble(version: Self.new, name: "k3s-132")
            _ = try lab.buildDouble(version: "v1.29.9+k3s1", name: "k3s-129")
            _ = try lab.buildDouble(version: "v1.33.0+k3s1", name: "k3s-133")
            try Self.buildFaulty(lab, version: Self.new, name: "k3s-132-never-ready")
            let env = ["KUBECONFIG": lab.directory + "/kubeconfig", "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1"]
            let before = try lab.inventory(k3s: "binary: ./k3s-131", stores: [
                "skip": "k3s: {version: v1.29.9+k3s1, binary: ./k3s-129}",
                "down": "k3s: {version: v1.33.0+k3s1, binary: ./k3s-133}",
            ], name: "before.yaml")
            let formed = try edgeup(["apply", before], environment: env)
            try #require(formed.status == 0, "\(formed.stderr)")

            let after = try Self.upgraded(lab, from: before)
            let plan = try edgeup(["plan", after, "--detailed-exitcode"], environment: env)
            #expect(plan.status == 1, "two stores are blocked: \(plan.stdout)\(plan.stderr)")
            #expect(plan.stdout.contains("upgrade") && plan.stdout.contains("\(Self.old) → \(Self.new)"), "\(plan.stdout)")
            #expect(plan.stdout.contains("v1.29 → v1.32 skips v1.30 (upgrade to a v1.30 release first)"), "\(plan.stdout)")
            #expect(plan.stdout.contains("v1.33.0+k3s1 → \(Self.new) is a downgrade"), "\(plan.stdout)")
            let untouched = try ["skip-s1", "down-s1"].map { try Self.binarySHA($0, lab) }

            // SIGKILL while the HA store's second server is being upgraded…
            let killed = try lab.startEdgeup(["apply", after, "--stores", "ha", "--readiness-timeout", "60"], env: env)
            let reached = try lab.waitForStep(killed.earlier, host: "ha-s2", action: "upgrade")
            kill(killed.process.processIdentifier, SIGKILL)
            killed.process.waitUntilExit()
            try #require(reached, "the HA store's upgrade reached ha-s2: \((try? String(contentsOfFile: killed.stderr, encoding: .utf8)) ?? "")")
            let firstJournal = try lab.journalText(excluding: killed.earlier)
            let snapshots = try lab.exec("ha-s1", "ls /var/lib/rancher/k3s/server/db/snapshots").stdout
            #expect(snapshots.contains("edgeup-pre-v1-32-1-k3s1-"), "the etcd snapshot exists: \(snapshots)")
            #expect(Self.index(of: "step-finished", "snapshot", on: "ha-s1", in: firstJournal)
                < Self.index(of: "step-started", "upgrade", on: "ha-s1", in: firstJournal),
                "the snapshot precedes the first restart")

            // …then the whole fleet: the HA store continues, the others upgrade, two are refused,
            // the faulty release stops only its own store.
            let earlier = Set((try? FileManager.default.contentsOfDirectory(atPath: lab.directory + "/state/runs")) ?? [])
            let apply = try edgeup(
                ["apply", after, "--readiness-timeout", "25", "--max-concurrent-stores", "2", "--drain", "--drain-timeout", "60"],
                environment: env)
            #expect(apply.status == 1, "\(apply.stderr)")
            let journal = try lab.journalText(excluding: earlier)
            #expect(apply.stderr.contains("converged      3"), "\(apply.stderr)")
            #expect(apply.stderr.contains("failed         3"), "\(apply.stderr)")
            #expect(apply.stderr.contains("skip/skip-s1: preflight: v1.29 → v1.32 skips v1.30"), "\(apply.stderr)")
            #expect(apply.stderr.contains("down/down-s1: preflight: v1.33.0+k3s1 → \(Self.new) is a downgrade"), "\(apply.stderr)")
            #expect(try ["skip-s1", "down-s1"].map { try Self.binarySHA($0, lab) } == untouched, "refused stores untouched")
            #expect(!journal.contains(#""host":"skip-s1""#) && !journal.contains(#""host":"down-s1""#))

            #expect(!(Self.index(of: "step-finished", "snapshot", on: "ha-s1", in: journal) < Int.max),
                    "the continued HA upgrade takes no second snapshot")
            #expect(journal.contains("continuing an upgrade begun earlier, snapshot edgeup-pre-v1-32-1-k3s1-"))
            try Self.expectOneAtATime(["ha-s1", "ha-s2", "ha-s3"], then: ["ha-a1", "ha-a2"], journal: firstJournal + "\n" + journal)
            try Self.expectOneAtATime(["lite-s1"], then: ["lite-a1"], journal: journal)
            try Self.expectOneAtATime(["chain-s1"], then: ["chain-a1"], journal: journal)
            for store in ["lite", "chain"] {
                let copy = try lab.exec("\(store)-s1", "ls /var/lib/rancher/k3s/server/db/snapshots/edgeup-pre-v1-32-1-k3s1-*/").stdout
                #expect(copy.contains("state.db"), "\(store): the SQLite copy holds state.db: \(copy)")
                #expect(apply.stderr.contains("  \(store): edgeup-pre-v1-32-1-k3s1-"), "the summary names \(store)'s snapshot")
            }
            for server in ["lite-s1", "ha-s1", "chain-s1"] {
                let versions = try lab.exec(server, "k3s kubectl get nodes --no-headers | awk '{ print $5 }'").stdout
                #expect(Set(versions.split(separator: "\n")) == [Substring(Self.new)], "\(server): \(versions)")
                let states = try lab.exec(server, "k3s kubectl get nodes --no-headers | awk '{ print $2 }'").stdout
                #expect(Set(states.split(separator: "\n")) == ["Ready"], "drained agents are uncordoned: \(states)")
            }
            // --drain: each agent drained before its restart and uncordoned after its gate; servers never.
            for agent in ["lite-a1", "chain-a1", "ha-a1", "ha-a2"] {
                #expect(Self.index(of: "step-finished", "drain", on: agent, in: journal) < Self.index(of: "step-started", "upgrade", on: agent, in: journal))
                #expect(Self.index(of: "step-started", "upgrade", on: agent, in: journal) < Self.index(of: "step-finished", "uncordon", on: agent, in: journal))
                #expect(Self.index(of: "step-finished", "uncordon", on: agent, in: journal) < Int.max, "\(agent) uncordoned")
            }
            #expect(!journal.contains(#""action":"drain","host":"ha-s"#) && !journal.contains(#""action":"drain","host":"lite-s1""#))

            // The faulty release: its server never becomes Ready, the gate names it, the agent is
            // left on the old release, and the rollback names the snapshot.
            #expect(apply.stderr.contains("bad/bad-s1: readiness: timed out after 25 s waiting for node bad-s1 to be Ready on \(Self.new)"), "\(apply.stderr)")
            #expect(apply.stderr.contains("rollback: on bad-s1: stop k3s, put the old binary back"), "\(apply.stderr)")
            #expect(apply.stderr.contains("/var/lib/rancher/k3s/server/db/snapshots/edgeup-pre-v1-32-1-k3s1-"), "\(apply.stderr)")
            #expect(try lab.exec("bad-a1", "k3s --version").stdout.contains(Self.old), "agents never run ahead of servers")

            let settled = try edgeup(["plan", after, "--stores", "lite,ha,chain", "--detailed-exitcode"], environment: env)
            #expect(settled.status == 0, "nothing left to do: \(settled.stdout)\(settled.stderr)")
        }
    }

    static func buildFaulty(_ lab: Lab, version: String, name: String) throws {
        let run = try runProcess(
            repositoryRoot + "/lab/k3s-double/build", ["--version", version, "--fault", "never-ready", "-o", lab.directory + "/" + name])
        guard run.status == 0 else { throw LabError("building the faulty double failed: \(run.stderr)") }
    }

    /// The fleet moved to v1.32.1 (the faulty build for store "bad"); "skip" and "down" keep their
    /// own binaries' versions out of the inventory so the plan sees the default target.
    static func upgraded(_ lab: Lab, from before: String) throws -> String {
        var text = try String(contentsOfFile: before, encoding: .utf8)
        text = text.replacingOccurrences(of: "version: \(old), binary: ./k3s-131", with: "version: \(new), binary: ./k3s-132")
        text = text.replacingOccurrences(of: "    k3s: {version: v1.29.9+k3s1, binary: ./k3s-129}\n", with: "")
        text = text.replacingOccurrences(of: "    k3s: {version: v1.33.0+k3s1, binary: ./k3s-133}\n", with: "")
        text = text.replacingOccurrences(of: "  - name: bad\n", with: "  - name: bad\n    k3s: {binary: ./k3s-132-never-ready}\n")
        let path = lab.directory + "/after.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func binarySHA(_ host: String, _ lab: Lab) throws -> String {
        try lab.exec(host, "sha256sum /usr/local/bin/k3s").stdout
    }

    /// The journal line index of the first event of `kind` for `action` on `host` (Int.max if none).
    static func index(of kind: String, _ action: String, on host: String, in journal: String) -> Int {
        journal.split(separator: "\n").firstIndex {
            $0.contains(#""kind":"\#(kind)""#) && $0.contains(#""action":"\#(action)""#) && $0.contains(#""host":"\#(host)""#)
        } ?? Int.max
    }

    /// Each server's `action` starts only after the previous server was Ready again, and no
    /// agent's before the last server was; agents one at a time too when `agentsInTurn`.
    static func expectOneAtATime(
        _ servers: [String], then agents: [String], action: String = "upgrade", agentsInTurn: Bool = false, journal: String
    ) throws {
        let lines = journal.split(separator: "\n")
        func ready(_ host: String) -> Int {
            lines.lastIndex { $0.contains(#""host":"\#(host)""#) && $0.contains("node \(host) Ready") } ?? Int.max
        }
        func started(_ host: String) -> Int {
            lines.lastIndex { $0.contains(#""host":"\#(host)""#) && $0.contains(#""kind":"step-started""#) && $0.contains(#""action":"\#(action)""#) } ?? Int.max
        }
        let inTurn = agentsInTurn ? servers + agents : servers
        for (previous, next) in zip(inTurn, inTurn.dropFirst()) {
            #expect(ready(previous) < started(next), "\(previous) Ready before \(next) is taken down")
        }
        let lastServer = servers.map(ready).max() ?? 0
        for agent in agents {
            #expect(lastServer < started(agent), "\(agent) waits for every server")
            #expect(ready(agent) < Int.max, "\(agent) was gated")
        }
    }
}
}
