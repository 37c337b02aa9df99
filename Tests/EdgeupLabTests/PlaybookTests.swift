import EdgeupTestSupport
import Foundation
import Testing
import Yams

/// Playbooks on the lab: what the k3s double recorded as applied is exactly what edgeup rendered
/// for each store; unchanged units are not applied again; a change is applied only where it
/// changed; a broken playbook stops the run before any host is touched.
extension LabTests {
@Suite struct PlaybookTests {
    static let fleet = """
        stores:
          - {name: one, servers: 1, agents: 1, labels: {region: eu}}
          - {name: two, servers: 1, agents: 0, labels: {region: us}}
          - {name: ha, servers: 3, agents: 0, labels: {region: eu}}
        """
    static let token = "fleet-registration-4f1d9c2e7a"

    static let storeConfig = """
        values: {app: {replicas: 1}}
        steps:
          - name: config
            manifests: [store-config/config.yaml]
          - name: app
            wait: 1m
            manifests:
              - inline: |
                  apiVersion: apps/v1
                  kind: Deployment
                  metadata: {name: till-sync, namespace: apps}
                  spec:
                    replicas: {{ values.app.replicas }}
                    selector: {matchLabels: {app: till-sync}}
                    template:
                      metadata: {labels: {app: till-sync}}
                      spec: {containers: [{name: sync, image: "registry.local/till-sync:1.0"}]}
          - name: agent files
            when: {role: agent}
            files:
              - path: /etc/edgeup-test/device.conf
                content: "store={{ store.name }} host={{ host.name }}\\n"
                mode: "0640"
          - name: mark
            when: {role: server}
            commands: ["echo {{ shell(store.labels.region) }} >> /var/lib/edgeup-test-mark"]
        """
    static let configManifest = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: store-config, namespace: kube-system}
        data:
          store: {{ json(store.name) }}
          region: {{ json(store.labels.region) }}

        """

    func environment(_ lab: Lab) -> [String: String] {
        [
            "KUBECONFIG": lab.directory + "/kubeconfig", "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1",
            "FLEET_REGISTRATION_TOKEN": Self.token,
        ]
    }

    /// The lab inventory with playbooks: baseline and store-config everywhere, fleet-agent on `two`.
    func writeInventory(_ lab: Lab, name: String = "fleet.yaml", region two: String = "us") throws -> String {
        let path = try lab.inventory(
            k3s: "binary: ./k3s", stores: [
                "two": "playbooks: [baseline, store-config, fleet-agent]\n    values: {fleet: {apiServerURL: \"https://fleet.example:6443\"}}",
            ], name: name)
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "defaults:\n", with: "defaults:\n  playbooks: [baseline, store-config]\n")
        text = text.replacingOccurrences(of: "labels: {region: \"us\"}", with: "labels: {region: \"\(two)\"}")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func writePlaybooks(_ lab: Lab, manifest: String = configManifest) throws {
        let folder = lab.directory + "/playbooks"
        try FileManager.default.createDirectory(atPath: folder + "/store-config", withIntermediateDirectories: true)
        try Self.storeConfig.write(toFile: folder + "/store-config.yaml", atomically: true, encoding: .utf8)
        try manifest.write(toFile: folder + "/store-config/config.yaml", atomically: true, encoding: .utf8)
    }

    /// What the double recorded as applied by edgeup on a store's first server, in order.
    func applied(_ lab: Lab, _ firstServer: String) throws -> [[String: Any]] {
        let raw = try lab.exec(firstServer, "k3s kubectl get --raw /v1-lab/applied").stdout
        let root = try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any]
        let entries = root?["applied"] as? [[String: Any]] ?? []
        return entries.filter { $0["manager"] as? String == "edgeup" }
    }

    /// The manifests `edgeup render` prints for one store, one canonical JSON text per object.
    func rendered(_ inventory: String, store: String, _ env: [String: String]) throws -> [String] {
        let run = try edgeup(["render", inventory, "--stores", store, "--playbooks", repositoryRoot + "/playbooks"], environment: env)
        #expect(run.status == 0, "\(run.stderr)")
        var objects: [String] = []
        // Units are separated by header lines; files and commands (" on HOST") are not manifests.
        var current = ""
        var isManifest = false
        func flush() throws {
            if isManifest {
                for document in try Yams.load_all(yaml: current) where !(document is NSNull) {
                    objects.append(try canonical(document))
                }
            }
            current = ""
        }
        for line in run.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# \(store): ") {
                try flush()
                isManifest = !line.contains(" on ")
            } else {
                current += line + "\n"
            }
        }
        try flush()
        return objects.sorted()
    }

    func canonical(_ object: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test func playbooksAreAppliedOnceExactlyAsRenderedAndOnlyWhereChanged() async throws {
        try await Lab.with(spec: Self.fleet, subnet: "10.86.0.0/16") { lab in
            _ = try lab.buildDouble()
            try writePlaybooks(lab)
            let inventory = try writeInventory(lab)
            let env = environment(lab)
            let shipped = ["--playbooks", repositoryRoot + "/playbooks"]

            let plan = try edgeup(["plan", inventory, "--output", "json"] + shipped, environment: env)
            #expect(plan.status == 0, "\(plan.stderr)")
            #expect(!plan.stdout.contains(Self.token), "the plan holds no secret")
            let planned = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any]
            let actions = (planned?["stores"] as? [[String: Any]] ?? []).flatMap { $0["actions"] as? [[String: Any]] ?? [] }
            let units = actions.compactMap { $0["unit"] as? [String: Any] }
            #expect(units.allSatisfy { ($0["sha256"] as? String)?.count == 64 })
            #expect(units.contains { $0["id"] as? String == "store-config/config/store-config-config.yaml" })

            let watcher = ArgvWatcher()
            let apply = try watcher.watching { try edgeup(["apply", inventory] + shipped, environment: env) }
            #expect(apply.status == 0, "\(apply.stderr)")

            // Exactly the rendered manifests, store-specific values included, each applied once,
            // server-side, by edgeup.
            for (store, first) in [("one", "one-s1"), ("ha", "ha-s1")] {
                let log = try applied(lab, first)
                #expect(log.allSatisfy { $0["server_side"] as? Bool == true })
                let contents = try log.map { try canonical($0["content"] as Any) }.sorted()
                #expect(contents == (try rendered(inventory, store: store, env)), "store \(store)")
            }
            let oneConfig = try applied(lab, "one-s1").first { $0["name"] as? String == "store-config" }
            #expect((oneConfig?["content"] as? [String: Any])?["data"] as? [String: String] == ["store": "one", "region": "eu"])
            let twoLog = try applied(lab, "two-s1")
            let twoConfig = twoLog.first { $0["name"] as? String == "store-config" }?["content"] as? [String: Any]
            #expect(twoConfig?["data"] as? [String: String] == ["store": "two", "region": "us"])
            #expect(try applied(lab, "ha-s1").contains { $0["kind"] as? String == "Deployment" && $0["namespace"] as? String == "apps" })

            // fleet-agent on `two` only: the token is in the Secret, and nowhere else.
            let secret = twoLog.first { $0["kind"] as? String == "Secret" }?["content"] as? [String: Any]
            #expect((secret?["stringData"] as? [String: String])?["values.yaml"] == "token: \"\(Self.token)\"\n")
            let chart = twoLog.first { $0["kind"] as? String == "HelmChart" }?["content"] as? [String: Any]
            let chartSpec = chart?["spec"] as? [String: Any]
            #expect((chartSpec?["valuesContent"] as? String)?.contains("apiServerURL: \"https://fleet.example:6443\"") == true)
            let chartValues = chartSpec?["valuesContent"] as? String ?? ""
            #expect(!chartValues.isEmpty && !chartValues.contains(Self.token))
            #expect(try !applied(lab, "one-s1").contains { $0["kind"] as? String == "HelmChart" })
            #expect(!watcher.seen.contains { $0.contains(Self.token) }, "the registration token appeared in an argv")
            #expect(!apply.stdout.contains(Self.token) && !apply.stderr.contains(Self.token))
            let leaks = try runProcess("/bin/grep", ["-r", "-l", Self.token, lab.directory + "/state"])
            #expect(leaks.stdout.isEmpty, "journal or host logs hold the token: \(leaks.stdout)")

            // Files and commands ran on their hosts, with host values.
            #expect(try lab.exec("one-a1", "stat -c %a /etc/edgeup-test/device.conf; cat /etc/edgeup-test/device.conf").stdout
                == "640\nstore=one host=one-a1\n")
            #expect(try lab.exec("ha-s2", "cat /var/lib/edgeup-test-mark").stdout == "eu\n")

            // Nothing changed: nothing is applied again, not even the commands.
            let counts = try ["one-s1", "two-s1", "ha-s1"].map { try applied(lab, $0).count }
            let again = try edgeup(["plan", inventory, "--detailed-exitcode"] + shipped, environment: env)
            #expect(again.status == 0, "\(again.stdout)")
            let reapply = try edgeup(["apply", inventory] + shipped, environment: env)
            #expect(reapply.status == 0 && !reapply.stderr.contains("apply-playbook"), "\(reapply.stderr)")
            #expect(try ["one-s1", "two-s1", "ha-s1"].map { try applied(lab, $0).count } == counts)
            #expect(try lab.exec("ha-s2", "cat /var/lib/edgeup-test-mark").stdout == "eu\n")

            // One store's label changes: only that store's manifests using it are applied again.
            let relabelled = try writeInventory(lab, name: "relabelled.yaml", region: "ca")
            let drift = try edgeup(["plan", relabelled, "--detailed-exitcode"] + shipped, environment: env)
            #expect(drift.status == 2)
            let driftLines = drift.stdout.split(separator: "\n").filter { $0.hasPrefix("    apply-playbook") }
            #expect(driftLines.count == 4, "\(drift.stdout)")
            #expect(driftLines.contains { $0.contains("fleet-agent/registration/") }, "fleet labels carry the store's")
            #expect(driftLines.contains { $0.contains("store-config/config/store-config-config.yaml: changed since applied") })
            #expect(driftLines.contains { $0.contains("baseline/store-info/") }, "store labels are in baseline's ConfigMap")
            #expect(driftLines.contains { $0.contains("two-s1: store-config/mark/command-1") }, "the command uses the region")
            #expect(drift.stdout.contains("Plan: 3 stores — 2 converged, 1 with changes"))
            let relabel = try edgeup(["apply", relabelled] + shipped, environment: env)
            #expect(relabel.status == 0, "\(relabel.stderr)")
            #expect(try applied(lab, "two-s1").count == counts[1] + 4, "store-info, store-config, fleet Secret and HelmChart")
            #expect(try applied(lab, "two-s1").last { $0["name"] as? String == "store-config" }
                .flatMap { ($0["content"] as? [String: Any])?["data"] as? [String: String] } == ["store": "two", "region": "ca"])
            #expect(try applied(lab, "one-s1").count == counts[0] && (try applied(lab, "ha-s1").count) == counts[2])

            // An edited manifest file: applied again on every store that uses it, nothing else.
            try writePlaybooks(lab, manifest: Self.configManifest + "  tier: \"standard\"\n")
            let edited = try edgeup(["apply", relabelled] + shipped, environment: env)
            #expect(edited.status == 0, "\(edited.stderr)")
            #expect(try applied(lab, "one-s1").count == counts[0] + 1 && (try applied(lab, "ha-s1").count) == counts[2] + 1)
            #expect(try applied(lab, "ha-s1").last?["name"] as? String == "store-config")

            // Broken playbooks stop everything before any host is touched: file:line, exit 2.
            let runsBefore = try FileManager.default.contentsOfDirectory(atPath: lab.directory + "/state/runs").count
            let countsBefore = try ["one-s1", "two-s1", "ha-s1"].map { try applied(lab, $0).count }
            try writePlaybooks(lab, manifest: Self.configManifest + "  broken: [unclosed\n")
            let invalid = try edgeup(["apply", relabelled] + shipped, environment: env)
            #expect(invalid.status == 2, "\(invalid.stderr)")
            // libyaml notices the unclosed list where the text ends; the hint names where it opened.
            #expect(invalid.stderr.contains(lab.directory + "/playbooks/store-config/config.yaml:8:1: error: invalid YAML"), "\(invalid.stderr)")
            #expect(invalid.stderr.contains("flow sequence that starts at \(lab.directory)/playbooks/store-config/config.yaml:7:11"))
            try writePlaybooks(lab, manifest: Self.configManifest.replacingOccurrences(of: "store.labels.region", with: "store.labels.zone"))
            let unknown = try edgeup(["apply", relabelled] + shipped, environment: env)
            #expect(unknown.status == 2)
            #expect(unknown.stderr.contains(lab.directory + "/playbooks/store-config/config.yaml:6:"), "\(unknown.stderr)")
            #expect(unknown.stderr.contains("unknown template variable 'store.labels.zone'"))
            #expect(unknown.stderr.contains("store one and 2 more"), "one error for the three stores")
            #expect(try FileManager.default.contentsOfDirectory(atPath: lab.directory + "/state/runs").count == runsBefore)
            #expect(try ["one-s1", "two-s1", "ha-s1"].map { try applied(lab, $0).count } == countsBefore)

            // Without the variable, fleet-agent cannot render: also before any host.
            var noToken = env
            noToken["FLEET_REGISTRATION_TOKEN"] = nil
            try writePlaybooks(lab)
            let missing = try edgeup(["plan", relabelled] + shipped, environment: noToken)
            #expect(missing.status == 2)
            #expect(missing.stderr.contains("values.fleet.token reads the environment variable FLEET_REGISTRATION_TOKEN, which is not set"))
        }
    }
}
}
