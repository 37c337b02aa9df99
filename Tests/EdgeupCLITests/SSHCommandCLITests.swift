import EdgeupTestSupport
import Testing

/// `edgeup ssh` before any connection: its help, usage errors (64) and unknown targets (255, like
/// ssh's own failures), against the example fleet.
@Suite struct SSHCommandCLITests {
    let fleet = "inventories/coffee-shops.yaml"

    @Test func helpIsListedWithExamples() throws {
        #expect(try edgeup(["--help"]).stdout.contains("  ssh "))
        let help = try edgeup(["ssh", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("edgeup ssh inventories/coffee-shops.yaml eu-003"))
        #expect(help.stdout.contains("sudo -i") && help.stdout.contains("255"))
    }

    @Test func usageErrors() throws {
        let none = try edgeup(["ssh"], environment: ["EDGEUP_INVENTORY": ""])
        #expect(none.status == 64)
        #expect(none.stderr.contains("give the target STORE or STORE/HOST"), "\(none.stderr)")
        let noFiles = try edgeup(["ssh", "eu-003", "--", "uptime"], environment: ["EDGEUP_INVENTORY": ""])
        #expect(noFiles.status == 64)
        #expect(noFiles.stderr.contains("or set EDGEUP_INVENTORY"), "\(noFiles.stderr)")
        let both = try edgeup(["ssh", fleet, "eu-003", "-t", "-T"])
        #expect(both.status == 64)
        #expect(both.stderr.contains("-t and -T exclude each other"))
    }

    @Test func unknownTargetsExit255WithTheNamesThereAre() throws {
        let store = try edgeup(["ssh", fleet, "eu-0003", "--", "true"], environment: ["NO_COLOR": "1"])
        #expect(store.status == 255)
        #expect(store.stderr.contains("edgeup: no store 'eu-0003' in the inventory; did you mean 'eu-003'?"), "\(store.stderr)")
        let host = try edgeup(["ssh", fleet, "eu-003/till", "--", "true"], environment: ["NO_COLOR": "1"])
        #expect(host.status == 255)
        #expect(host.stderr.contains("store eu-003 has no host 'till'; its hosts: eu-003-pi, eu-003-menu"), "\(host.stderr)")
        let viaEnvironment = try edgeup(["ssh", "eu-0003"], environment: ["EDGEUP_INVENTORY": fleet, "NO_COLOR": "1"])
        #expect(viaEnvironment.status == 255, "EDGEUP_INVENTORY is read: \(viaEnvironment.stderr)")
    }
}
