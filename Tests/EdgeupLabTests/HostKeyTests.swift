import EdgeupTestSupport
import Foundation
import Testing

/// Two stores behind different gateways whose servers share one private address (as real stores
/// share a LAN range): each host's key is recorded under its route, and one store's key never
/// vouches for the other store.
extension LabTests {
@Suite struct HostKeyTests {
    static let spec = """
        stores:
          - {name: east, servers: 1, agents: 0, gateway: true}
          - {name: west, servers: 1, agents: 0, gateway: true}
        """

    /// known_hosts lines as (name, type, key), comments dropped.
    func entries(_ path: String) throws -> [[String]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }
            .map { $0.split(separator: " ").prefix(3).map(String.init) }
    }

    @Test func storesAtOneAddressBehindDifferentGatewaysKeepTheirKeysApart() async throws {
        try await Lab.with(spec: Self.spec, subnet: "10.82.0.0/16") { lab in
            #expect(lab.hosts["east-s1"]?.address == "192.168.50.11")
            #expect(lab.hosts["west-s1"]?.address == "192.168.50.11")
            _ = try lab.buildDouble()
            let known = lab.directory + "/known_hosts.fresh"
            _ = FileManager.default.createFile(atPath: known, contents: nil)
            let airgap = try String(contentsOfFile: try lab.inventory(k3s: "binary: ./k3s"), encoding: .utf8)
            let acceptNew = airgap.replacingOccurrences(
                of: "knownHostsFile: ./known_hosts, hostKeyPolicy: strict",
                with: "knownHostsFile: ./known_hosts.fresh, hostKeyPolicy: accept-new")
            #expect(acceptNew != airgap, "the lab inventory's ssh defaults changed shape")
            let inventory = lab.directory + "/accept-new.yaml"
            try acceptNew.write(toFile: inventory, atomically: true, encoding: .utf8)
            let env = ["KUBECONFIG": lab.directory + "/kubeconfig", "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1"]

            let apply = try edgeup(["apply", inventory], environment: env)
            #expect(apply.status == 0, "\(apply.stderr)")
            #expect(apply.stderr.contains("converged      2"), "\(apply.stderr)")

            // One entry per host, each under its route, with that host's own key: exactly what
            // the lab (which knows every key) records for the same names.
            let written = try entries(known)
            let expected = try entries(lab.directory + "/known_hosts")
            #expect(written.count == 4, "\(written)")
            #expect(Set(written) == Set(expected), "written \(written), lab has \(expected)")
            let names = written.map { $0[0] }
            #expect(names.contains("east-gw/192.168.50.11") && names.contains("west-gw/192.168.50.11"), "\(names)")
            #expect(!names.contains("192.168.50.11"), "the bare LAN address names no host")
            let eastKey = try #require(written.first { $0[0] == "east-gw/192.168.50.11" })
            let westKey = try #require(written.first { $0[0] == "west-gw/192.168.50.11" })
            #expect(eastKey[2] != westKey[2])

            // Swap: east's route now holds west's key. The next run refuses east, west still works.
            let text = try String(contentsOfFile: known, encoding: .utf8)
            let swapped = text.replacingOccurrences(of: "east-gw/192.168.50.11 \(eastKey[1]) \(eastKey[2])",
                                                    with: "east-gw/192.168.50.11 \(westKey[1]) \(westKey[2])")
            #expect(swapped != text)
            try swapped.write(toFile: known, atomically: true, encoding: .utf8)
            let again = try edgeup(["apply", inventory], environment: env)
            #expect(again.status == 1, "\(again.stderr)")
            #expect(again.stderr.contains("converged      1"), "\(again.stderr)")
            #expect(again.stderr.contains("failed         1"), "\(again.stderr)")
            #expect(again.stderr.contains("east/east-s1: "), "\(again.stderr)")
            #expect(again.stderr.contains("HOST KEY CHANGED for east-gw/192.168.50.11"), "\(again.stderr)")
            #expect(!again.stderr.contains("west/west-s1: "), "\(again.stderr)")

            // The OpenSSH transport reads the same names: same verdicts from the system ssh.
            let openssh = acceptNew.replacingOccurrences(of: "hostKeyPolicy: accept-new,", with: "hostKeyPolicy: accept-new, transport: openssh,")
            #expect(openssh != acceptNew)
            let opensshInventory = lab.directory + "/openssh.yaml"
            try openssh.write(toFile: opensshInventory, atomically: true, encoding: .utf8)
            let exec = try edgeup(["exec", opensshInventory, "--", "hostname"], environment: env)
            #expect(exec.status == 1, "\(exec.stdout)\(exec.stderr)")
            #expect(exec.stdout.contains("west/west-s1") && exec.stdout.contains("west-s1\n"), "\(exec.stdout)")
            #expect(exec.stderr.contains("2 hosts: 1 ok, 1 failed"), "\(exec.stderr)")
            #expect(exec.stderr.contains("east/east-s1: ") && exec.stderr.contains("HOST IDENTIFICATION HAS CHANGED"), "\(exec.stderr)")
            #expect(try String(contentsOfFile: known, encoding: .utf8) == swapped, "accept-new never replaces an entry")
        }
    }
}
}
