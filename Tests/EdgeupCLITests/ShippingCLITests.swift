import EdgeupTestSupport
import Foundation
import Testing

/// `edgeup version` and `edgeup init`, as the debug build (plain `swift build`) has them.
@Suite struct ShippingCLITests {
    @Test func versionNamesTheBuildAndTheLinkedLibraries() throws {
        let version = try edgeup(["version"])
        #expect(version.status == 0)
        let lines = version.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(version.stdout)")
        #expect(lines.first?.hasPrefix("edgeup 0.") == true)
        #expect(lines.dropFirst().first == "commit:  unknown", "swift build passes no commit")
        #expect(lines.dropFirst(2).first == "built:   development")
        #expect(lines.dropFirst(3).first?.hasPrefix("libssh2: 1.") == true, "\(lines)")
        #expect(lines.dropFirst(4).first?.hasPrefix("OpenSSL: OpenSSL 3.") == true, "\(lines)")
        #expect(try edgeup(["--version"]).stdout == version.stdout, "--version prints the same")
    }

    @Test func initWritesAStarterThatValidates() throws {
        let folder = try temporaryFolder()
        let run = try edgeup(["init", folder + "/fleet"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("wrote \(folder)/fleet/inventory.yaml"))
        let inventory = try String(contentsOfFile: folder + "/fleet/inventory.yaml", encoding: .utf8)
        #expect(inventory.contains("gateways:") && inventory.contains("via: gw-store-001"))
        #expect(inventory.contains("# default: root"), "the defaults are explained")
        #expect(FileManager.default.fileExists(atPath: folder + "/fleet/playbooks/site.yaml"))
        // From a folder without playbooks/, so only the starter's own folder can supply them.
        let valid = try edgeup(["validate", "fleet/inventory.yaml"], environment: ["NO_COLOR": "1"], directory: folder)
        #expect(valid.status == 0, "\(valid.stderr)")
        #expect(valid.stdout.hasPrefix("valid: fleet/inventory.yaml: 1 store"), "\(valid.stdout)")
        #expect(valid.stdout.contains("1 gateway; 1 behind gateways; 1 playbook units rendered"), "\(valid.stdout)")
        #expect(valid.stderr.isEmpty, "no warnings either: \(valid.stderr)")
    }

    @Test func initRefusesToOverwriteAndWritesNothing() throws {
        let folder = try temporaryFolder()
        try "mine\n".write(toFile: folder + "/inventory.yaml", atomically: true, encoding: .utf8)
        let refused = try edgeup(["init", folder])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("\(folder)/inventory.yaml already exists; nothing was written."), "\(refused.stderr)")
        #expect(try String(contentsOfFile: folder + "/inventory.yaml", encoding: .utf8) == "mine\n")
        #expect(!FileManager.default.fileExists(atPath: folder + "/playbooks"))

        let other = try temporaryFolder()
        try FileManager.default.createDirectory(atPath: other + "/playbooks", withIntermediateDirectories: false)
        #expect(try edgeup(["init", other]).status == 1)
        #expect(!FileManager.default.fileExists(atPath: other + "/inventory.yaml"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: other + "/playbooks").isEmpty)
    }
}
