import EdgeupKit
import Testing

/// Upgrades k3s does not refuse but Kubernetes does not support are refused by the plan, per store,
/// before any host is touched (issue #14).
extension PlannerTests {
    /// The HA store with `hosts` running `version` from another binary.
    func running(_ version: String, on hosts: [HostID]) -> [HostID: HostObservation] {
        var observations = converged(ha)
        for host in hosts {
            modify(&observations, host) { $0.k3s.binarySHA256 = "old"; $0.k3s.version = K3sVersion(version) }
        }
        return observations
    }

    @Test func aSkippedMinorBlocksTheStore() {
        let plan = planner.plan(ha, observations: running("v1.29.9+k3s1", on: ["s2"]))
        #expect(plan.status == .blocked)
        #expect(!plan.actions.contains { $0.kind == .upgrade || $0.kind == .restart }, "\(plan.actions)")
        #expect(plan.problems.map(\.description) == [
            "s2: v1.29 → v1.31 skips v1.30 (upgrade to a v1.30 release first)",
        ])
    }

    @Test func aDowngradeIsRefusedUnlessAllowed() {
        let observations = running("v1.32.1+k3s1", on: ["s1", "s2", "s3", "a1"])
        let refused = planner.plan(ha, observations: observations)
        #expect(refused.status == .blocked)
        #expect(refused.problems.count == 4)
        #expect(refused.problems.first?.message == "v1.32.1+k3s1 → v1.31.4+k3s1 is a downgrade")
        var allowing = planner
        allowing.allowDowngrade = true
        let allowed = allowing.plan(ha, observations: observations)
        #expect(allowed.problems.isEmpty, "\(allowed.problems)")
        #expect(allowed.actions.filter { $0.kind == .upgrade }.count == 4)
    }

    @Test func oneMinorAtATimeIsPlanned() {
        let plan = planner.plan(ha, observations: running("v1.30.9+k3s1", on: ["s1", "s2", "s3", "a1"]))
        #expect(plan.problems.isEmpty, "\(plan.problems)")
        #expect(summary(plan) == [
            "stage-binary s1", "stage-binary s2", "stage-binary s3", "stage-binary a1",
            "snapshot s1", "upgrade s1", "restart s1", "upgrade s2", "restart s2", "upgrade s3", "restart s3",
            "upgrade a1", "restart a1", "fetch-kubeconfig s1",
        ])
        #expect(plan.actions[4].reason == "etcd snapshot edgeup-pre-v1-31-4-k3s1-<run> before the first restart")
    }

    @Test func anUnhealthyStoreIsNotUpgraded() {
        var observations = running("v1.30.9+k3s1", on: ["s1"])
        modify(&observations, "s1") { facts in
            facts.k3s.nodes = facts.k3s.nodes?.map { node in
                var node = node
                if node.name == "a1" { node.ready = false }
                if node.name == "s3" { node.etcdVoter = false }
                return node
            }
        }
        let plan = planner.plan(ha, observations: observations)
        #expect(plan.status == .blocked)
        #expect(plan.problems.map(\.description) == [
            "s3: node s3 is not an etcd voter; an upgrade starts only from a healthy store (bring the node back (or remove it) before changing k3s.version)",
            "a1: node a1 is NotReady; an upgrade starts only from a healthy store (bring the node back (or remove it) before changing k3s.version)",
        ])
        // The same unhealthy node does not block changes that are not upgrades.
        var noUpgrade = converged(ha)
        modify(&noUpgrade, "s1") { facts in
            facts.k3s.nodes = facts.k3s.nodes?.map { var node = $0; node.ready = node.name != "a1"; return node }
        }
        #expect(planner.plan(ha, observations: noUpgrade).problems.isEmpty)
    }

    @Test func etcdVoterIsReadFromTheNodeConditions() throws {
        let object: [String: Any] = [
            "metadata": ["name": "s1", "labels": ["node-role.kubernetes.io/etcd": "true"]],
            "status": ["conditions": [["type": "Ready", "status": "True"], ["type": "EtcdIsVoter", "status": "False"]]],
        ]
        let node = try #require(NodeFacts(kubernetesObject: object))
        #expect(node.ready && node.etcdVoter == false)
        #expect(NodeFacts(kubernetesObject: ["metadata": ["name": "a1"]])?.etcdVoter == nil)
    }
}
