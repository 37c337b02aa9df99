import EdgeupTestSupport
import Foundation
import Testing

/// A store's k3s.yaml is the store's word, not the operator's: a tampered one is refused with its
/// store named while the others merge, and the operator's own entries are never replaced.
extension LabTests {
@Suite struct KubeconfigTrustTests {
    static let spec = """
        stores:
          - {name: good, servers: 1, agents: 0}
          - {name: evil, servers: 1, agents: 0}
          - {name: mine, servers: 1, agents: 0}
        """

    /// The operator's kubeconfig: a cluster of their own, and a hand-made `mine` that happens to
    /// share a store's name.
    static let operatorFile = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: mine
          cluster: {server: "https://mine.example.com:6443", insecure-skip-tls-verify: true}
        users:
        - name: mine
          user: {token: operators-own-token}
        contexts:
        - name: mine
          context: {cluster: mine, user: mine, namespace: shop}
        current-context: mine

        """

    @Test func aTamperedKubeconfigIsRefusedAndTheOperatorsEntriesStayAlone() async throws {
        try await Lab.with(spec: Self.spec, subnet: "10.81.0.0/16") { lab in
            _ = try lab.buildDouble()
            let inventory = try lab.inventory(k3s: "binary: ./k3s")
            let kubeconfig = lab.directory + "/kubeconfig"
            let env = ["KUBECONFIG": kubeconfig, "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1"]
            try Self.operatorFile.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
            let mineBefore = try entries(named: "mine", env: env)

            // Every cluster forms; `mine` is not merged over the operator's entry, and says so.
            let apply = try edgeup(["apply", inventory], environment: env)
            #expect(apply.status == 1, "mine's kubeconfig step fails: \(apply.stderr)")
            #expect(apply.stderr.contains("converged      2"), "\(apply.stderr)")
            #expect(apply.stderr.contains(
                "mine/mine-s1: fetch-kubeconfig: \(kubeconfig): error: store 'mine': the kubeconfig already has a cluster named 'mine' that edgeup did not write"),
                "\(apply.stderr)")
            #expect(apply.stderr.contains("or give store 'mine' another 'context:' in the inventory"))
            #expect(try entries(named: "mine", env: env) == mineBefore, "the operator's mine is as it was")
            #expect(try contexts(env) == ["mine", "good", "evil"])
            #expect(try runProcess("/usr/bin/kubectl", ["config", "current-context"], environment: env).stdout == "mine\n")

            // The evil store's k3s.yaml now runs a program on whoever uses it.
            let marker = lab.directory + "/pwned"
            try lab.exec("evil-s1", """
                sed -i 's|^    client-key-data: .*$|&\\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: [-c, "touch \(marker)"], interactiveMode: Never}|' /etc/rancher/k3s/k3s.yaml
                """)
            #expect(try lab.exec("evil-s1", "grep -c 'exec:' /etc/rancher/k3s/k3s.yaml").stdout == "1\n")

            // Refused, naming the store, the field and the line; the file is byte for byte unchanged.
            let before = try Data(contentsOf: URL(fileURLWithPath: kubeconfig))
            let evilOnly = try edgeup(["kubeconfig", inventory, "--stores", "evil"], environment: env)
            #expect(evilOnly.status == 1)
            #expect(evilOnly.stderr.contains(
                "evil/evil-s1: fetch-kubeconfig: evil/evil-s1:/etc/rancher/k3s/k3s.yaml:20:5: error: store 'evil': user 'default' has exec (runs a program on your machine at the next kubectl), which edgeup does not take from a store"),
                "\(evilOnly.stderr)")
            #expect(evilOnly.stderr.contains("0 store kubeconfigs written"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: kubeconfig)) == before, "nothing written")
            let printed = try edgeup(["kubeconfig", inventory, "--stores", "evil", "--print"], environment: env)
            #expect(printed.status == 1 && !printed.stdout.contains("exec"), "\(printed.stdout)")

            // The whole fleet: good merges again (its entries were removed meanwhile), evil is
            // refused and keeps its earlier, clean entries, mine is still skipped.
            for (verb, name) in [("delete-context", "good"), ("delete-cluster", "good"), ("delete-user", "good")] {
                _ = try runProcess("/usr/bin/kubectl", ["config", verb, name], environment: env)
            }
            let evilBefore = try entries(named: "evil", env: env)
            let all = try edgeup(["kubeconfig", inventory], environment: env)
            #expect(all.status == 1)
            #expect(all.stderr.contains("1 store kubeconfig written to \(kubeconfig)"), "\(all.stderr)")
            #expect(all.stderr.contains("store 'evil': user 'default' has exec"))
            #expect(all.stderr.contains("store 'mine': the kubeconfig already has a cluster named 'mine'"))
            #expect(try contexts(env) == ["mine", "evil", "good"])
            #expect(try entries(named: "evil", env: env) == evilBefore)
            #expect(try entries(named: "mine", env: env) == mineBefore)
            #expect(!(try String(contentsOfFile: kubeconfig, encoding: .utf8)).contains("exec"))
            let nodes = try runProcess("/usr/bin/kubectl", ["--context", "good", "get", "nodes", "--no-headers"], environment: env)
            #expect(nodes.status == 0 && nodes.stdout.hasPrefix("good-s1 "), "\(nodes.stderr)")

            // --no-merge: one file for good, none for evil.
            let folder = lab.directory + "/separate"
            let separate = try edgeup(["kubeconfig", inventory, "--no-merge", "--kubeconfig-dir", folder], environment: env)
            #expect(separate.status == 1)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["good.yaml", "mine.yaml"])
            #expect(!FileManager.default.fileExists(atPath: marker), "nothing ran the planted program")
        }
    }

    /// The cluster, user and context of that name as kubectl reads them (JSON), for comparisons.
    private func entries(named name: String, env: [String: String]) throws -> [String] {
        let view = try runProcess("/usr/bin/kubectl", ["config", "view", "--raw", "-o", "json"], environment: env)
        let root = try JSONSerialization.jsonObject(with: Data(view.stdout.utf8)) as? [String: Any]
        return try ["clusters", "users", "contexts"].map { section in
            let entry = (root?[section] as? [[String: Any]])?.first { $0["name"] as? String == name }
            return String(decoding: try JSONSerialization.data(withJSONObject: entry ?? [:], options: .sortedKeys), as: UTF8.self)
        }
    }

    private func contexts(_ env: [String: String]) throws -> Set<String> {
        Set(try runProcess("/usr/bin/kubectl", ["config", "get-contexts", "-o", "name"], environment: env).stdout
            .split(separator: "\n").map(String.init))
    }
}
}
