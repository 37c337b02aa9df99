@testable import EdgeupKit
import Foundation
import Testing

/// How an upgrade is laid out (staging, snapshot, order), continued after an interruption, and
/// undone (issue #14).
extension PlannerTests {
    var one: Store { inventory.stores[1] }

    @Test func aContinuedUpgradeTakesNoSecondSnapshot() {
        var observations = running("v1.30.9+k3s1", on: ["s2", "s3", "a1"])
        let earlier = "edgeup-pre-v1-31-4-k3s1-20261203t101500z-3f9a-s1-1764756900"
        modify(&observations, "s1") { $0.k3s.snapshots = ["edgeup-pre-v1-30-9-k3s1-20260601t000000z-0001-s1-1", earlier] }
        let plan = planner.plan(ha, observations: observations)
        #expect(plan.problems.isEmpty, "\(plan.problems)")
        #expect(summary(plan) == [
            "stage-binary s2", "stage-binary s3", "stage-binary a1",
            "upgrade s2", "restart s2", "upgrade s3", "restart s3", "upgrade a1", "restart a1", "fetch-kubeconfig s1",
        ])
        #expect(plan.actions[3].reason == "v1.30.9+k3s1 → v1.31.4+k3s1 (continuing an upgrade begun earlier, snapshot \(earlier))")
    }

    @Test func aSQLiteStoreCopiesItsDatastore() {
        var observations = converged(one)
        modify(&observations, "pi") { $0.k3s.binarySHA256 = "old"; $0.k3s.version = K3sVersion("v1.30.9+k3s1") }
        let plan = planner.plan(one, observations: observations)
        #expect(summary(plan) == ["stage-binary pi", "snapshot pi", "upgrade pi", "restart pi", "fetch-kubeconfig pi"])
        #expect(plan.actions[1].reason
            == "copy of the SQLite datastore to /var/lib/rancher/k3s/server/db/snapshots/edgeup-pre-v1-31-4-k3s1-<run>, taken while k3s is stopped")
    }

    /// SIGKILL between a server's stop and its Ready: the re-run finds it NotReady with edgeup's
    /// restart marker, and continues with it rather than calling the store unhealthy.
    @Test func aNodeLeftMidRestartIsContinuedNotRefused() {
        var observations = running("v1.30.9+k3s1", on: ["s3", "a1"])
        modify(&observations, "s2") { $0.k3s.pendingRestart = "restart: to apply: new binary"; $0.k3s.serviceActive = true }
        modify(&observations, "s1") { facts in
            facts.k3s.nodes = facts.k3s.nodes?.map { var node = $0; node.ready = node.name != "s2"; return node }
        }
        let plan = planner.plan(ha, observations: observations)
        #expect(plan.problems.isEmpty, "\(plan.problems)")
        #expect(summary(plan).starts(with: ["stage-binary s3", "stage-binary a1", "restart s2", "upgrade s3"]), "\(summary(plan))")
        // Without the marker, the same NotReady node blocks the upgrade.
        modify(&observations, "s2") { $0.k3s.pendingRestart = nil }
        #expect(planner.plan(ha, observations: observations).status == .blocked)
    }

    @Test func snapshotNamesAreSafeForK3sAndKubernetes() {
        let upgrade = StoreUpgrade(
            target: "v1.32.1+k3s1", started: false, datastore: .etcd, existingSnapshots: [], prefix: "edgeup-pre-")
        #expect(upgrade.snapshotName(run: "20261203T101500Z-3f9a") == "edgeup-pre-v1-32-1-k3s1-20261203t101500z-3f9a")
    }

    @Test func theRollbackNamesTheSnapshotAndK3sSteps() {
        let files = K3sDistribution().files
        let etcd = StoreUpgrade(target: "v1.31.4+k3s1", started: false, datastore: .etcd, existingSnapshots: [], prefix: "edgeup-pre-")
        let text = UpgradeRollback.steps(store: ha, upgrade: etcd, snapshot: "edgeup-pre-x-s1-17", files: files, service: "k3s")
        #expect(text.contains("mv /usr/local/bin/k3s.edgeup-previous /usr/local/bin/k3s"))
        #expect(text.contains("on s1 run `/usr/local/bin/k3s server --cluster-reset --cluster-reset-restore-path=/var/lib/rancher/k3s/server/db/snapshots/edgeup-pre-x-s1-17`"))
        #expect(text.contains("on s2, s3 remove /var/lib/rancher/k3s/server/db and start k3s, one at a time"))
        let sqlite = StoreUpgrade(target: "v1.31.4+k3s1", started: false, datastore: .sqlite, existingSnapshots: [], prefix: "edgeup-pre-")
        #expect(UpgradeRollback.steps(store: one, upgrade: sqlite, snapshot: "edgeup-pre-y", files: files, service: "k3s")
            .hasPrefix("on pi: stop k3s, put the old binary back (mv /usr/local/bin/k3s.edgeup-previous /usr/local/bin/k3s) where edgeup replaced it, copy the files of /var/lib/rancher/k3s/server/db/snapshots/edgeup-pre-y/ back into /var/lib/rancher/k3s/server/db/"))
        #expect(UpgradeRollback.steps(store: one, upgrade: sqlite, snapshot: nil, files: files, service: "k3s")
            .hasPrefix("no edgeup snapshot exists for this upgrade"))
    }
}

extension PlannerTests {
    @Test func drainCordonsAgentsOnlyAndUncordonsAfterReady() {
        var draining = planner
        draining.drain = DrainPolicy(timeoutSeconds: 120, podSelector: "app=shop")
        let plan = draining.plan(ha, observations: running("v1.30.9+k3s1", on: ["s1", "s2", "s3", "a1"]))
        #expect(!plan.actions.contains { $0.kind == .drain && $0.host != "a1" }, "servers are never drained")
        #expect(Array(summary(plan).suffix(5)) == ["drain a1", "upgrade a1", "restart a1", "uncordon a1", "fetch-kubeconfig s1"])
        #expect(plan.actions.first { $0.kind == .drain }?.reason
            == "cordon and drain before the upgrade restart (timeout 120 s, pods matching app=shop)")
        #expect(!planner.plan(ha, observations: running("v1.30.9+k3s1", on: ["a1"])).actions.contains { $0.kind == .drain })
    }

    @Test func aNodeEdgeupLeftCordonedIsUncordoned() {
        var observations = converged(ha)
        modify(&observations, "a1") { $0.k3s.cordonedByEdgeup = true }
        let plan = planner.plan(ha, observations: observations)
        #expect(summary(plan) == ["uncordon a1", "fetch-kubeconfig s1"])
        #expect(plan.actions[0].reason == "edgeup cordoned it for an upgrade in a run that did not finish")
        #expect(FactsProbe.parse("cordoned=1\n").k3s.cordonedByEdgeup == true)
    }
}

extension PlannerTests {
    /// Facts' clock is 1000 s after the epoch; a leaf expiring `days` later.
    func certificates(_ days: Double, on hosts: [HostID], file: String = "client-kubelet.crt") -> [HostID: HostObservation] {
        var observations = converged(ha)
        for host in hosts {
            modify(&observations, host) { $0.k3s.certificates.leaves[file] = Date(timeIntervalSince1970: 1000 + days * 86400) }
        }
        return observations
    }

    @Test func certificatesInsideTheWindowAreRenewedWithARestart() {
        let plan = planner.plan(ha, observations: certificates(20.5, on: ["s1", "a1"]))
        #expect(summary(plan) == ["renew-certificates s1", "restart s1", "renew-certificates a1", "restart a1", "fetch-kubeconfig s1"])
        #expect(plan.actions[0].reason == "client-kubelet.crt: 20 days left, inside the 90-day renewal window")
        #expect(plan.actions[1].reason == "to apply: renewed certificates")
        #expect(planner.plan(ha, observations: certificates(-3, on: ["s2"])).actions.first?.reason
            == "client-kubelet.crt: expired 3 days ago, inside the 90-day renewal window")
        #expect(planner.plan(ha, observations: certificates(200, on: ["s1"])).actions.isEmpty, "outside the window")
    }

    @Test func theRenewalWindowComesFromTheInventory() throws {
        let wide = try load(("wide.yaml", """
            defaults:
              k3s: {version: v1.31.4+k3s1, binary: /bundles/k3s, certificateRenewalDays: 250, config: {disable: [traefik], kubelet-arg: ["max-pods=60"]}}
            stores:
              - name: ha
                hosts:
                  - {name: s1, address: 10.0.0.1, role: server}
                  - {name: s2, address: 10.0.0.2, role: server}
                  - {name: s3, address: 10.0.0.3, role: server}
                  - {name: a1, address: 10.0.0.4, role: agent}
            """)).get()
        let plan = planner.plan(wide.stores[0], observations: certificates(200, on: ["s3"]))
        #expect(summary(plan) == ["renew-certificates s3", "restart s3", "fetch-kubeconfig s1"])
    }
}

extension PlannerTests {
    @Test func nodesTheInventoryDoesNotListAreShownNotTouched() {
        var observations = converged(ha)
        modify(&observations, "s1") { $0.k3s.nodes?.append(NodeFacts(name: "old-till\u{1b}[2J", ready: false, roles: [])) }
        let plan = planner.plan(ha, observations: observations)
        #expect(plan.actions.isEmpty && plan.problems.isEmpty, "an unmanaged node changes nothing: \(plan.actions) \(plan.problems)")
        #expect(plan.unmanagedNodes == ["old-till\\u{1b}[2J"], "escaped, as every name a host sends")
        #expect(planner.plan(ha, observations: converged(ha)).unmanagedNodes == nil)
        let text = PlanText(style: TerminalStyle(colors: false)).render(Plan(inventoryFiles: ["f.yaml"], stores: [plan]))
        #expect(text.contains("Unmanaged nodes (in the cluster, not in the inventory; left alone):\n  ha: old-till"), "\(text)")
    }
}
