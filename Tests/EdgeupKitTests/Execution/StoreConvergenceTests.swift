import EdgeSSH
import EdgeupKit
import Foundation
import Testing

/// What one simulated `plan` + `apply` left behind.
struct SimulatedRun {
    let plan: StorePlan
    let outcome: StoreOutcome?
    let events: [SimulatedFleet.Event]

    /// The first event of `step` on `host`; records an issue when there is none.
    func first(_ step: SimulatedFleet.Step, on host: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> SimulatedFleet.Event? {
        let event = events.first { $0.host == host && $0.step == step }
        if event == nil { Issue.record("no \(step.rawValue) on \(host):\n\(log)", sourceLocation: sourceLocation) }
        return event
    }

    /// From the start of `host`'s service to the first time the cluster called its node Ready.
    func joinWindow(_ host: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> ClosedRange<Int>? {
        guard let start = first(.start, on: host, sourceLocation: sourceLocation),
            let ready = first(.nodeReady, on: host, sourceLocation: sourceLocation), start.seq < ready.seq
        else { return nil }
        return start.seq...ready.seq
    }

    var log: String { events.map(\.description).joined(separator: "\n") }
}

/// Plans and applies the one store of `inventory` against simulated hosts, through the real
/// pipeline (facts → planner → store runner). The only caller of `FleetRunner` in these tests:
/// its API is about to change, and this is the one place to adapt.
func simulate(
    _ inventory: String, readiness: [String: SimulatedFleet.NodeReadiness] = [:], failing: [String: SimulatedFleet.Step] = [:],
    provisioning: ProvisioningOptions = ProvisioningOptions(kubeconfig: .none), playbook: String? = nil,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) async throws -> SimulatedRun {
    let inventory = try load(inventory).get()
    let stores = inventory.stores
    let fleet = SimulatedFleet(stores, readiness: readiness, failing: failing)
    var rendered: [String: StorePlaybooks] = [:]
    if let playbook {
        let (library, problems) = PlaybookLibrary.load(
            for: stores, searchPath: ["/pb"], readFile: { $0 == "/pb/site.yaml" ? playbook : nil })
        #expect(problems.isEmpty, "\(problems)", sourceLocation: sourceLocation)
        var renderer = PlaybookRenderer(library: library, environment: [:])
        for storePlaybooks in try renderer.render(stores).get() { rendered[storePlaybooks.store] = storePlaybooks }
    }
    let session = FleetSession(
        access: HostAccess(inventory: inventory, environment: [:], homeDirectory: "/home/op"), connector: fleet.connector())
    let runner = FleetRunner(session: session, provisioning: provisioning, playbooks: rendered)
    let plan = await runner.plan(inventory, stores: stores)
    let result = await runner.apply(plan, run: "test-run", journal: nil, events: { _ in })
    await session.close()
    let storePlan = try #require(plan.stores.first?.plan, sourceLocation: sourceLocation)
    #expect(storePlan.problems.isEmpty, "\(storePlan.problems)", sourceLocation: sourceLocation)
    return SimulatedRun(
        plan: storePlan, outcome: result.outcomes.first { $0.store == storePlan.store.name }, events: await fleet.events)
}

/// How `StoreRunner` orders a store's convergence, checked on simulated hosts that record what
/// was done to them and when (see `SimulatedFleet`): servers in order, one join at a time, agents
/// in batches, readiness waited for, playbooks last, the first failure stopping the store.
@Suite struct StoreConvergenceTests {
    /// Store `shop`: servers s1…, then agents a1… (embedded etcd when it has several servers).
    static func shop(servers: Int, agents: Int, playbooks: [String] = []) -> String {
        var lines = ["stores:", "  - name: shop", "    datastore: \(servers > 1 ? "etcd" : "sqlite")"]
        if !playbooks.isEmpty { lines.append("    playbooks: [\(playbooks.joined(separator: ", "))]") }
        lines.append("    hosts:")
        lines += (1...servers).map { "      - {name: s\($0), address: 10.0.0.\($0), role: server}" }
        lines += (0..<agents).map { "      - {name: a\($0 + 1), address: 10.0.1.\($0 + 1), role: agent}" }
        return lines.joined(separator: "\n")
    }

    static let threeServers = shop(servers: 3, agents: 2)

    static let servers = ["s1", "s2", "s3"]

    /// Every node takes a moment to turn Ready, so a runner that does not wait would be seen.
    static let slowNodes: [String: SimulatedFleet.NodeReadiness] = Dictionary(
        uniqueKeysWithValues: ["s1", "s2", "s3", "a1", "a2", "a3", "a4", "a5"].map { ($0, .after(.milliseconds(30))) })

    @Test func serversConvergeInInventoryOrderEachAfterTheLastIsReady() async throws {
        let run = try await simulate(Self.threeServers, readiness: Self.slowNodes)
        #expect(run.outcome?.converged == true, "\(run.outcome?.message ?? "no outcome")")
        let starts = run.events.filter { $0.step == .start }.map(\.host)
        #expect(Array(starts.prefix(3)) == Self.servers, "servers start in inventory order")
        let firstWrite = run.events.first { !$0.step.isRead }
        #expect(firstWrite?.host == "s1", "the first server is changed first: \(firstWrite?.description ?? "-")")
        for (earlier, later) in zip(Self.servers, Self.servers.dropFirst()) {
            guard let ready = run.first(.nodeReady, on: earlier), let start = run.first(.start, on: later) else { continue }
            #expect(ready.seq < start.seq, "\(later) starts only after \(earlier) was seen Ready:\n\(run.log)")
        }
    }

    @Test func oneServerJoinsAtATime() async throws {
        let run = try await simulate(Self.threeServers, readiness: Self.slowNodes)
        #expect(run.outcome?.converged == true, "\(run.outcome?.message ?? "no outcome")")
        let windows = Self.servers.compactMap { host in run.joinWindow(host).map { (host, $0) } }
        #expect(windows.count == 3)
        for (index, (host, window)) in windows.enumerated() {
            for (other, otherWindow) in windows.dropFirst(index + 1) {
                #expect(!window.overlaps(otherWindow), "\(host) \(window) and \(other) \(otherWindow) joined at once")
            }
        }
    }

    @Test func agentsJoinInBatchesAfterAllServers() async throws {
        let run = try await simulate(
            Self.shop(servers: 3, agents: 5),
            readiness: Self.slowNodes.merging(["a1": .after(.milliseconds(80)), "a3": .after(.milliseconds(80))]) { $1 },
            provisioning: ProvisioningOptions(agentBatchSize: 2, kubeconfig: .none))
        #expect(run.outcome?.converged == true, "\(run.outcome?.message ?? "no outcome")")
        let agents = ["a1", "a2", "a3", "a4", "a5"]
        let windows = agents.compactMap { run.joinWindow($0) }
        try #require(windows.count == agents.count)
        let peak = windows.map { window in windows.filter { $0.contains(window.lowerBound) }.count }.max() ?? 0
        #expect(peak <= 2, "at most a batch of agents joins at once:\n\(run.log)")
        #expect(peak == 2, "the agents of a batch join together")
        // a1 and a3 are slow: the next batch still waits for them.
        let batches = [[0, 1], [2, 3], [4]]
        for (batch, next) in zip(batches, batches.dropFirst()) {
            let finished = batch.map { windows[$0].upperBound }.max()!
            for index in next {
                let firstWrite = run.events.first { $0.host == agents[index] && !$0.step.isRead }
                #expect(
                    (firstWrite?.seq ?? -1) > finished,
                    "\(agents[index]) starts only after the batch \(batch.map { agents[$0] }) is Ready:\n\(run.log)")
            }
        }
        let serversReady = Self.servers.compactMap { run.first(.nodeReady, on: $0)?.seq }.max() ?? .max
        let agentsChanged = run.events.filter { agents.contains($0.host) && !$0.step.isRead }.map(\.seq).min() ?? -1
        #expect(serversReady < agentsChanged, "agents are touched only once every server is Ready:\n\(run.log)")
    }

    @Test func aNodeThatNeverTurnsReadyFailsTheStore() async throws {
        let run = try await simulate(
            Self.threeServers, readiness: ["s2": .never],
            provisioning: ProvisioningOptions(readinessTimeout: .milliseconds(50), kubeconfig: .none))
        let outcome = try #require(run.outcome)
        #expect(!outcome.converged)
        let message = outcome.message ?? ""
        #expect(message.contains("shop/s2: readiness: timed out"), "\(message)")
        #expect(message.contains("node s2 to be Ready"), "\(message)")
        #expect(message.contains("NotReady"), "the last answer seen: \(message)")
        let later = run.events.filter { ["s3", "a1", "a2"].contains($0.host) && !$0.step.isRead }
        #expect(later.isEmpty, "nothing after the node that is not Ready: \(later)")
    }

    @Test func playbooksApplyAfterEveryHostIsReady() async throws {
        let run = try await simulate(
            Self.shop(servers: 1, agents: 2, playbooks: ["site"]),
            readiness: Self.slowNodes,
            playbook: """
                steps:
                  - name: info
                    manifests:
                      - inline: '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "info"}, "data": {"store": "{{ store.name }}"}}'
                """)
        #expect(run.outcome?.converged == true, "\(run.outcome?.message ?? "no outcome")")
        #expect(run.plan.actions.contains { $0.kind == .applyPlaybook })
        let apply = try #require(run.first(.kubectlApply, on: "s1"))
        for host in ["s1", "a1", "a2"] {
            guard let ready = run.first(.nodeReady, on: host) else { continue }
            #expect(ready.seq < apply.seq, "the playbook is applied only after \(host) is Ready:\n\(run.log)")
        }
        let recorded = run.events.first { $0.step == .playbookRecord }
        #expect((recorded?.seq ?? -1) > apply.seq, "the unit is recorded once applied")
    }

    @Test func theFirstFailureStopsTheStore() async throws {
        let run = try await simulate(Self.threeServers, failing: ["s1": .start])
        let outcome = try #require(run.outcome)
        #expect(!outcome.converged)
        #expect(outcome.message?.contains("shop/s1: start:") == true, "\(outcome.message ?? "")")
        #expect(run.events.contains { $0.host == "s1" && $0.step == .start && $0.failed })
        let others = run.events.filter { $0.host != "s1" && !$0.step.isRead }
        #expect(others.isEmpty, "no other host is changed after the first server failed:\n\(others)")
        #expect(!run.events.contains { $0.step == .start && !$0.failed })
    }
}
