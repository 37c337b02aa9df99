import EdgeupTestSupport
import Foundation
import Testing

/// Stores that change (issue #15): hosts marked `remove: true` taken out (etcd member, Node,
/// node-password Secret, the host's k3s), a removal that would lose quorum refused, a dead
/// server's later return cleaned up, re-imaged machines rejoining under their old names, the
/// first server handing over to the next one, and a SQLite store grown into three etcd servers
/// with its objects.
extension LabTests {
@Suite struct MembershipTests {
    static let spec = """
        stores:
          - {name: trio, servers: 3, agents: 1}
          - {name: swap, servers: 3, agents: 1}
          - {name: lite, servers: 3, agents: 0}
        """

    @Test func storesLoseGainAndReplaceNodes() async throws {
        try await Lab.with(spec: Self.spec, subnet: "10.93.0.0/16") { lab in
            _ = try lab.buildDouble()
            let env = ["KUBECONFIG": lab.directory + "/kubeconfig", "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1"]
            let full = try lab.inventory(k3s: "binary: ./k3s", name: "full.yaml")
            // lite starts as one SQLite server: its other two hosts are not in the inventory yet.
            let single = try Self.variant(full, lab, "single.yaml") { text in
                text.split(separator: "\n", omittingEmptySubsequences: false)
                    .filter { !$0.contains("name: lite-s2,") && !$0.contains("name: lite-s3,") }.joined(separator: "\n")
            }
            let formed = try edgeup(["apply", single], environment: env)
            try #require(formed.status == 0, "\(formed.stderr)")
            for (server, name) in [("lite-s1", "before-growth"), ("swap-s1", "before-replace")] {
                let made = try lab.exec(server, "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: \(name), namespace: default}\\ndata: {a: b}\\n' > /root/cm.yaml && k3s kubectl apply -f /root/cm.yaml")
                try #require(made.status == 0, "\(server): \(made.stderr)")
            }

            // SQLite grown into embedded etcd: the first server restarts with cluster-init, then the others join.
            let grown = try edgeup(["apply", full, "--stores", "lite"], environment: env)
            #expect(grown.status == 0, "\(grown.stderr)")
            #expect(try Self.members("lite-s1", lab).count == 3, "lite has three etcd members")
            #expect(try lab.exec("lite-s3", "k3s kubectl get configmap before-growth -n default -o name").stdout.contains("before-growth"),
                    "the SQLite store's objects are in etcd")
            #expect(try Self.readyNodes("lite-s1", lab) == ["lite-s1", "lite-s2", "lite-s3"])

            // A dead server: removing a live one would leave 1 of 2 members answering.
            try lab.host("stop", "trio-s3")
            try Self.waitUntil("trio-s3 is NotReady") {
                try lab.exec("trio-s1", "k3s kubectl get node trio-s3 --no-headers").stdout.contains("NotReady")
            }
            let losing = try Self.variant(full, lab, "losing.yaml") { Self.marking($0, ["trio-s2"]) }
            let refused = try edgeup(["apply", losing, "--stores", "trio"], environment: env)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("refusing to remove trio-s2: etcd would keep 2 members of which 1 answer (trio-s3 not), below its quorum of 2"),
                    "\(refused.stderr)")
            #expect(try lab.exec("trio-s2", "k3s kubectl get --raw /readyz").stdout == "ok", "trio-s2 untouched")

            // The dead server and the agent go: the agent drained and uninstalled, the dead server's
            // Node and member deleted from the cluster (it cannot be reached to uninstall).
            let shrunk = try Self.variant(full, lab, "shrunk.yaml") { Self.marking($0, ["trio-s3", "trio-a1"]) }
            let plan = try edgeup(["plan", shrunk, "--stores", "trio"], environment: env)
            #expect(plan.stdout.contains("remove-node trio-s3") && plan.stdout.contains("remove-node trio-a1"), "\(plan.stdout)")
            #expect(plan.stderr.contains("keeps an even number of servers (2)"), "\(plan.stderr)")
            let removed = try edgeup(["apply", shrunk, "--stores", "trio"], environment: env)
            #expect(removed.status == 0, "\(removed.stderr)")
            #expect(try Self.members("trio-s1", lab).map { String($0.prefix(8)) }.sorted() == ["trio-s1-", "trio-s2-"])
            #expect(try Self.readyNodes("trio-s1", lab) == ["trio-s1", "trio-s2"])
            let secrets = try lab.exec("trio-s1", "k3s kubectl get secrets -n kube-system -o name").stdout
            #expect(!secrets.contains("trio-a1.node-password") && !secrets.contains("trio-s3.node-password"), "\(secrets)")
            let agentLeft = try Self.leftovers("trio-a1", lab)
            #expect(agentLeft.isEmpty, "trio-a1 is clean: \(agentLeft)")
            #expect(try lab.exec("trio-s3", "true").status != 0, "trio-s3 is still down")

            // The dead server comes back: its member is gone, so it stops, and the next apply uninstalls it.
            try lab.host("start", "trio-s3")
            let cleaned = try edgeup(["apply", shrunk, "--stores", "trio"], environment: env)
            #expect(cleaned.status == 0, "\(cleaned.stderr)")
            let serverLeft = try Self.leftovers("trio-s3", lab)
            #expect(serverLeft.isEmpty, "trio-s3 is clean: \(serverLeft) \(cleaned.stderr)")
            #expect(try Self.readyNodes("trio-s1", lab) == ["trio-s1", "trio-s2"], "trio-s3 did not come back")
            let converged = try edgeup(["plan", shrunk, "--stores", "trio", "--detailed-exitcode"], environment: env)
            #expect(converged.status == 0, "nothing left to do: \(converged.stdout)")

            // Re-imaged machines under their old names: k3s alone refuses them (node password),
            // edgeup deletes the stale Node, Secret and member first.
            for host in ["swap-s3", "swap-a1"] { try lab.host("reimage", host) }
            let replacing = try edgeup(["plan", full, "--stores", "swap"], environment: env)
            #expect(replacing.stdout.contains("forget-node swap-s3") && replacing.stdout.contains("forget-node swap-a1"), "\(replacing.stdout)")
            let replaced = try edgeup(["apply", full, "--stores", "swap"], environment: env)
            #expect(replaced.status == 0, "\(replaced.stderr)")
            #expect(try Self.readyNodes("swap-s1", lab) == ["swap-a1", "swap-s1", "swap-s2", "swap-s3"])
            #expect(try Self.members("swap-s1", lab).count == 3)

            // The first server goes: swap-s2 takes over as the one edgeup talks to, the agent follows it.
            let handover = try Self.variant(full, lab, "handover.yaml") { Self.marking($0, ["swap-s1"]) }
            let handed = try edgeup(["apply", handover, "--stores", "swap"], environment: env)
            #expect(handed.status == 0, "\(handed.stderr)")
            // The double's datastore moves from the removed first server to another member; its
            // nodes' heartbeats follow within its NotReady window.
            try Self.waitUntil("swap's nodes are Ready after the handover") {
                try Self.readyNodes("swap-s2", lab) == ["swap-a1", "swap-s2", "swap-s3"]
            }
            #expect(try Self.members("swap-s2", lab).count == 2)
            let firstLeft = try Self.leftovers("swap-s1", lab)
            #expect(firstLeft.isEmpty, "swap-s1 is clean: \(firstLeft)")
            let config = try lab.exec("swap-s2", "cat /etc/rancher/k3s/config.yaml").stdout
            #expect(config.contains("cluster-init: true") && !config.contains("server:"), "swap-s2 is the store's first server: \(config)")
            let kubectl = try runProcess("/usr/bin/env", ["KUBECONFIG=\(env["KUBECONFIG"]!)", "kubectl", "--context", "swap", "get", "configmap", "before-replace", "-o", "name"])
            #expect(kubectl.stdout.contains("before-replace"), "the swap context reaches the store through swap-s2: \(kubectl.stderr)")
        }
    }

    /// The inventory at `path` changed by `edit`, written as `name` next to it.
    static func variant(_ path: String, _ lab: Lab, _ name: String, _ edit: (String) -> String) throws -> String {
        let out = lab.directory + "/" + name
        try edit(try String(contentsOfFile: path, encoding: .utf8)).write(toFile: out, atomically: true, encoding: .utf8)
        return out
    }

    /// Marks the named hosts `remove: true`.
    static func marking(_ text: String, _ hosts: [String]) -> String {
        hosts.reduce(text) { $0.replacingOccurrences(of: "{name: \($1), ", with: "{name: \($1), remove: true, ") }
    }

    static func members(_ server: String, _ lab: Lab) throws -> [String] {
        let text = try lab.exec(server, "k3s kubectl get --raw /db/info").stdout
        let root = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        return (root?["members"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    }

    static func readyNodes(_ server: String, _ lab: Lab) throws -> [String] {
        try lab.exec(server, "k3s kubectl get nodes --no-headers | awk '$2 == \"Ready\" { print $1 }'").stdout
            .split(separator: "\n").map(String.init).sorted()
    }

    /// What is left of k3s and edgeup on the host.
    static func leftovers(_ host: String, _ lab: Lab) throws -> String {
        try lab.exec(host, """
            for path in /usr/local/bin/k3s /etc/rancher/k3s /var/lib/rancher/k3s /var/lib/edgeup \
                /etc/systemd/system/k3s.service /etc/systemd/system/k3s-agent.service; do
                [ -e "$path" ] && echo "$path"
            done
            """).stdout
            // Alone in its command line: the one above names k3s's paths itself.
            + lab.exec(host, "pgrep -a -f '[k]3s' || true").stdout
    }

    static func waitUntil(_ what: String, timeout: TimeInterval = 60, _ check: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try check() { return }
            sleep(1)
        }
        throw LabError("timed out waiting until \(what)")
    }
}
}
