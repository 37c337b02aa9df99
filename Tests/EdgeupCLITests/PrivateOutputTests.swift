import EdgeupTestSupport
import Foundation
import Testing

/// What the CLI writes locally from remote facts and output, and the flag that names kubeconfig
/// entries, as an operator meets them.
@Suite struct PrivateOutputTests {
    @Test func planAndJUnitFilesAreWrittenPrivate() throws {
        // Port 1 on loopback refuses connections: a blocked store, without leaving the machine.
        let inventory = try temporaryInventory("""
            defaults: {ssh: {port: 1, knownHostsFile: ./known_hosts}}
            stores: [{name: dead, hosts: [{name: pi, address: 127.0.0.1, role: server}]}]
            """)
        let folder = (inventory as NSString).deletingLastPathComponent
        let (plan, junit) = (folder + "/plan.json", folder + "/junit.xml")
        for file in [plan, junit] {
            #expect(FileManager.default.createFile(atPath: file, contents: Data("old".utf8), attributes: [.posixPermissions: 0o644]))
        }
        let environment = ["NO_COLOR": "1", "EDGEUP_STATE_DIR": folder + "/state", "KUBECONFIG": folder + "/kubeconfig"]
        let planned = try edgeup(["plan", inventory, "--out", plan], environment: environment)
        #expect(planned.status == 1, "blocked: \(planned.stderr)")
        let applied = try edgeup(["apply", inventory, "--report-junit", junit], environment: environment)
        #expect(applied.status == 1, "blocked: \(applied.stderr)")
        for file in [plan, junit] {
            #expect(try String(contentsOfFile: file, encoding: .utf8) != "old", "\(file) rewritten")
            #expect(try mode(file) == 0o600, "\(file)")
        }
        #expect(try mode(folder + "/state") == 0o700)
        let runs = try FileManager.default.contentsOfDirectory(atPath: folder + "/state/runs")
        #expect(runs.count == 1)
        #expect(try mode(folder + "/state/runs/\(runs[0])/journal.jsonl") == 0o600)
    }

    @Test(arguments: [["install", "--host", "10.0.0.5"], ["join", "--host", "10.0.0.6", "--server-host", "10.0.0.5"]])
    func contextFlagMustBeAContextName(command: [String]) throws {
        for bad in ["../x", "Shop", "a/b"] {
            let run = try edgeup(command + ["--context", bad, "--ssh-port", "1"], environment: ["NO_COLOR": "1"])
            #expect(run.status == 64, "refused as a flag, before connecting: \(run.stderr)")
            #expect(run.stderr.contains("--context '\(bad)' "), "\(run.stderr)")
            #expect(run.stderr.contains("a context name is a DNS subdomain"), "\(run.stderr)")
        }
    }
}

private func mode(_ path: String) throws -> Int {
    try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
}
