@testable import EdgeupKit
import Testing

/// Hosts marked `remove: true`, replaced machines and a first server without k3s (issue #15).
extension PlannerTests {
    /// The HA store with `marked` hosts set `remove: true`.
    func haRemoving(_ marked: [String]) throws -> Store {
        let hosts = [("s1", "server", 1), ("s2", "server", 2), ("s3", "server", 3), ("a1", "agent", 4)]
        let lines = hosts.map { name, role, address in
            "      - {name: \(name), address: 10.0.0.\(address), role: \(role)\(marked.contains(name) ? ", remove: true" : "")}"
        }
        let loaded = load(("inv.yaml", """
            defaults:
              k3s: {version: v1.31.4+k3s1, binary: /bundles/k3s, config: {disable: [traefik], kubelet-arg: ["max-pods=60"]}}
            stores:
              - name: ha
                datastore: etcd
                hosts:
            \(lines.joined(separator: "\n"))
            """))
        try #require(loaded.errors.isEmpty, "\(loaded.diagnostics)")
        return try loaded.get().stores[0]
    }

    /// The HA store converged, its servers etcd members; `down` are NotReady.
    func haMembers(down: [String] = []) -> [HostID: HostObservation] {
        var observations = converged(ha)
        modify(&observations, "s1") { facts in
            facts.k3s.nodes = facts.k3s.nodes?.map { node in
                var node = node
                node.roles = node.name.hasPrefix("s") ? ["control-plane", "etcd", "master"] : []
                node.ready = !down.contains(node.name)
                node.etcdVoter = node.name.hasPrefix("s") ? true : nil
                return node
            }
        }
        return observations
    }

    @Test func removedHostsAreTakenOutDeadOnesFirst() throws {
        var observations = haMembers(down: ["s3"])
        observations["s3"] = .unreachable("connection refused")
        let plan = planner.plan(try haRemoving(["s2", "s3", "a1"]), observations: observations)
        #expect(plan.problems.isEmpty, "\(plan.problems)")
        #expect(summary(plan).filter { $0.hasPrefix("remove-node") } == ["remove-node s3", "remove-node s2", "remove-node a1"])
        let reasons = Dictionary(uniqueKeysWithValues: plan.actions.filter { $0.kind == .removeNode }.map { ($0.host!, $0.reason) })
        #expect(reasons["s3"] == "remove: true; delete node s3 and its etcd member, (the host does not answer: nothing to uninstall), delete its node-password Secret")
        #expect(reasons["a1"] == "remove: true; cordon and drain, delete node a1, uninstall k3s, delete its node-password Secret")
        #expect(plan.unmanagedNodes == nil, "nodes being removed are not unmanaged: \(plan.unmanagedNodes ?? [])")
    }

    @Test func aRemovalThatWouldLoseQuorumIsRefused() throws {
        let plan = planner.plan(try haRemoving(["s2"]), observations: haMembers(down: ["s3"]))
        #expect(plan.problems.map(\.message) == [
            "refusing to remove s2: etcd would keep 2 members of which 1 answer (s3 not), below its quorum of 2",
        ])
        #expect(!plan.actions.contains { $0.kind == .removeNode })
        let nodes = haMembers()["s1"]?.facts?.k3s.nodes ?? []
        let everyServer = ["s1", "s2", "s3"].map { name in
            HostRemoval(host: ha.hosts.first { $0.name == name }!, nodeName: name, etcdMember: true, ready: true, uninstall: true)
        }
        #expect(StoreRemovals.quorumProblem(ha, removing: everyServer, nodes: nodes)?.message == "refusing to remove s1, s2, s3: no etcd member would be left")
        #expect(StoreRemovals.quorumProblem(ha, removing: Array(everyServer.prefix(2)), nodes: nodes) == nil, "one live member is its own quorum")
    }

    @Test func aRemovedHostAlreadyGoneIsConverged() throws {
        var observations = converged(ha)
        modify(&observations, "s1") { $0.k3s.nodes?.removeAll { $0.name == "a1" } }
        observations["a1"] = .unreachable("no route to host")
        let plan = planner.plan(try haRemoving(["a1"]), observations: observations)
        #expect(plan.actions.isEmpty && plan.problems.isEmpty, "\(plan.actions) \(plan.problems)")
    }

    @Test func aReplacedMachineForgetsItsOldNodeFirst() {
        var observations = haMembers(down: ["a1", "s3"])
        for host in ["a1", "s3"] {
            modify(&observations, HostID(host)) { $0.k3s = K3sFacts(); $0.machineID = "new-\(host)"; $0.listeningPorts = [] }
        }
        let plan = planner.plan(ha, observations: observations)
        #expect(plan.problems.isEmpty, "\(plan.problems)")
        #expect(summary(plan).filter { $0.hasPrefix("forget-node") || $0.hasPrefix("install") } == [
            "forget-node s3", "install s3", "forget-node a1", "install a1",
        ])
        // k3s installed but stopped, on a machine that is not the one the Node last ran on.
        var stopped = converged(ha)
        modify(&stopped, "s1") { $0.k3s.nodes = $0.k3s.nodes?.map { var node = $0; node.machineID = "id-\(node.name)"; return node } }
        modify(&stopped, "a1") { $0.k3s.serviceActive = false; $0.listeningPorts = []; $0.machineID = "other" }
        let forget = planner.plan(ha, observations: stopped)
        #expect(summary(forget).first == "forget-node a1", "\(forget.actions) \(forget.problems)")
        modify(&stopped, "a1") { $0.machineID = "id-a1" }
        #expect(!summary(planner.plan(ha, observations: stopped)).contains("forget-node a1"), "the same machine, only stopped")
    }

    @Test func aFirstServerWithoutK3sNextToARunningClusterIsRefused() {
        var observations = converged(ha)
        modify(&observations, "s1") { $0.k3s = K3sFacts(); $0.listeningPorts = [] }
        let plan = planner.plan(ha, observations: observations)
        #expect(plan.problems.map(\.message).contains(
            "has no k3s while s2 runs the store's cluster: formed here (cluster-init) it would start a second cluster"), "\(plan.problems)")
        #expect(planner.plan(ha, observations: bare(ha)).problems.isEmpty, "a new store is formed as usual")
    }
}
