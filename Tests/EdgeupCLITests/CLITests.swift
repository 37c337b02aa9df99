import EdgeupTestSupport
import Foundation
import Testing

func temporaryInventory(_ text: String) throws -> String {
    try temporaryFile(text)
}

@Suite struct CLITests {
    @Test func validateAcceptsTheShippedInventories() throws {
        let run = try edgeup(["validate", "inventories/example.yaml", "inventories/coffee-shops.yaml"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("valid: 2 files: 51 stores"))
    }

    @Test func invalidInventoryExitsTwoWithLocations() throws {
        let path = try temporaryInventory("""
            stores:
              - name: s1
                datastore: sqlite
                hosts:
                  - {address: 10.0.0.1, role: server}
                  - {address: 10.0.0.2, role: server, colour: red}
            """)
        let run = try edgeup(["validate", path], environment: ["NO_COLOR": "1"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("\(path):6:43: error: unknown key 'colour' in a host of store 's1'"))
        #expect(run.stderr.contains("\(path):3:16: error: store 's1' uses sqlite but has 2 servers"))
        #expect(run.stderr.contains("hint: sqlite takes exactly one server"))
        #expect(!run.stderr.contains("\u{1B}["), "NO_COLOR and pipes mean no escape codes")
        #expect(run.stdout.isEmpty)
    }

    @Test func playbooksBesideTheInventoryAreRenderedAndCheckedOffline() throws {
        let path = try temporaryInventory("""
            defaults: {playbooks: [site, baseline]}
            stores:
              - {name: s1, labels: {region: eu}, hosts: [{address: 10.0.0.1, role: server}]}
            """)
        let folder = (path as NSString).deletingLastPathComponent + "/playbooks"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let playbook = folder + "/site.yaml"
        try """
            steps:
              - name: info
                manifests:
                  - inline: |
                      apiVersion: v1
                      kind: ConfigMap
                      metadata: {name: info}
                      data: {region: {{ json(store.labels.region) }}}
            """.write(toFile: playbook, atomically: true, encoding: .utf8)
        let valid = try edgeup(["validate", path], environment: ["NO_COLOR": "1"])
        #expect(valid.status == 0, "\(valid.stderr)")
        #expect(valid.stdout.contains("; 3 playbook units rendered"), "site's one and baseline's two (from ./playbooks)")
        let render = try edgeup(["render", path], environment: ["NO_COLOR": "1"])
        #expect(render.stdout.contains("# s1: site/info/inline-1 sha256:"))
        #expect(render.stdout.contains("data: {region: \"eu\"}"))

        try String(contentsOfFile: playbook, encoding: .utf8).replacingOccurrences(of: "labels.region", with: "labels.regoin")
            .write(toFile: playbook, atomically: true, encoding: .utf8)
        let broken = try edgeup(["plan", path], environment: ["NO_COLOR": "1"])
        #expect(broken.status == 2, "plan stops before connecting to 10.0.0.1")
        #expect(broken.stderr.contains("\(playbook):8:26: error: unknown template variable 'store.labels.regoin'"), "\(broken.stderr)")
        #expect(broken.stderr.contains("hint: did you mean 'region'?"))
        #expect(broken.stderr.contains("1 error(s) in playbooks; nothing was changed."))
    }

    @Test func validateJSONIsMachineReadable() throws {
        let path = try temporaryInventory("stores:\n  - {name: s1, hosts: [{address: 10.0.0.1, role: boss}]}\n")
        let run = try edgeup(["validate", "--output", "json", path])
        #expect(run.status == 2)
        let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(json?["valid"] as? Bool == false)
        let diagnostics = json?["diagnostics"] as? [[String: Any]]
        #expect(diagnostics?.count == 2, "invalid role, and the store then has no server")
        let location = diagnostics?.first?["location"] as? [String: Any]
        #expect(location?["line"] as? Int == 2)
    }

    @Test func missingFileIsAClearError() throws {
        let run = try edgeup(["validate", "does-not-exist.yaml"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("cannot read inventory does-not-exist.yaml: no such file"))
    }

    @Test func unreachableHostsAreReportedNotFatal() throws {
        // Port 1 on loopback refuses connections: a dead host, without leaving the machine.
        let path = try temporaryInventory("""
            defaults: {ssh: {port: 1, knownHostsFile: ./known_hosts}}
            stores: [{name: dead, hosts: [{name: pi, address: 127.0.0.1, role: server}]}]
            """)
        let run = try edgeup(["plan", path], environment: ["NO_COLOR": "1"])
        #expect(run.status == 1)
        #expect(run.stdout.contains("Plan: 1 store — 0 converged, 0 with changes, 1 blocked"))
        #expect(run.stdout.contains("dead: pi: unreachable:"))
        let detailed = try edgeup(["plan", "--detailed-exitcode", "--output", "json", path])
        #expect(detailed.status == 1)
        let json = try JSONSerialization.jsonObject(with: Data(detailed.stdout.utf8)) as? [String: Any]
        #expect(json?["schemaVersion"] as? Int == 1)
        let exec = try edgeup(["exec", path, "--", "true"], environment: ["NO_COLOR": "1"])
        #expect(exec.status == 1)
        #expect(exec.stderr.contains("1 host: 0 ok, 1 failed"))
        #expect(exec.stderr.contains("  dead/pi: connect: "))
    }

    @Test func fleetCommandsValidateTheInventoryFirst() throws {
        let path = try temporaryInventory("stores: [{name: s1, hosts: []}]\n")
        let run = try edgeup(["plan", path])
        #expect(run.status == 2)
        #expect(run.stderr.contains("store 's1' has no hosts"))
    }

    @Test func flagsAreChecked() throws {
        let shard = try edgeup(["plan", "inventories/example.yaml", "--shard", "4/3"])
        #expect(shard.status == 64)
        #expect(shard.stderr.contains("invalid --shard '4/3'"))
        let both = try edgeup(["install", "--host", "h", "--k3s-version", "v1.31.4+k3s1", "--k3s-channel", "stable"])
        #expect(both.status == 64)
        let noCommand = try edgeup(["exec", "inventories/example.yaml"])
        #expect(noCommand.status == 64)
    }

    @Test func helpDescribesEveryCommand() throws {
        let root = try edgeup(["--help"])
        for command in ["install", "join", "validate", "plan", "apply", "kubeconfig", "exec", "status"] {
            #expect(root.stdout.contains("  \(command) "), "\(command) listed")
            let help = try edgeup([command, "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("edgeup \(command)"), "\(command) help has an example")
        }
        let install = try edgeup(["install", "--help"]).stdout
        for flag in ["--user", "--ssh-key", "--ssh-port", "--sudo/--no-sudo", "--k3s-version", "--k3s-channel",
            "--k3s-binary", "--cluster", "--tls-san", "--k3s-extra-args", "--context", "--kubeconfig", "--no-merge",
            "--known-hosts", "--host-key-policy"]
        {
            #expect(install.contains(flag), "install has \(flag)")
        }
        #expect(try edgeup(["--version"]).stdout.hasPrefix("edgeup 0."))
    }
}
