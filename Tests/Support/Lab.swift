import Foundation

/// A lab fleet (lab/edgeup-lab) for one test: brought up from a spec, torn down when the test's
/// closure returns or throws, so a failing test leaves no namespaces or processes behind.
public struct Lab: Sendable {
    public let directory: String
    public let id: String
    public let hosts: [String: LabHost]

    public struct LabHost: Sendable {
        public var name: String
        public var store: String?
        /// server, agent, gateway or bastion.
        public var role: String
        public var address: String
    }

    public static var tool: String { repositoryRoot + "/lab/edgeup-lab" }

    /// Root on Linux: the lab needs namespaces and mounts.
    public static var available: Bool { getuid() == 0 && FileManager.default.isExecutableFile(atPath: tool) }

    public var inventory: String { directory + "/inventory.yaml" }

    /// Brings a lab up from `spec` (YAML), runs `body`, tears it down whatever happens.
    public static func with<T>(
        spec: String, subnet: String, _ body: (Lab) async throws -> T
    ) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeup-lab-\(UUID().uuidString.prefix(8))").path
        let id = String(UUID().uuidString.lowercased().filter(\.isLetter).prefix(4))
        let specFile = try temporaryFile(spec, name: "spec.yaml")
        defer { _ = try? runProcess(tool, ["down", "--dir", directory]) }
        let up = try runProcess(tool, ["up", "--dir", directory, "--spec", specFile, "--subnet", subnet, "--id", id])
        guard up.status == 0 else { throw LabError("lab up failed: \(up.stderr)\(up.stdout)") }
        let lab = try Lab(directory: directory, id: id)
        return try await body(lab)
    }

    init(directory: String, id: String) throws {
        self.directory = directory
        self.id = id
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/hosts.json"))
        let root = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        var hosts: [String: LabHost] = [:]
        for entry in root?["hosts"] as? [[String: Any]] ?? [] {
            guard let name = entry["name"] as? String, let address = entry["address"] as? String else { continue }
            hosts[name] = LabHost(
                name: name, store: entry["store"] as? String, role: entry["role"] as? String ?? "", address: address)
        }
        self.hosts = hosts
    }

    /// Runs a command as root inside a lab host (not over SSH: for setting up and checking).
    @discardableResult
    public func exec(_ host: String, _ command: String) throws -> ProcessRun {
        try runProcess(Lab.tool, ["host", "exec", "--dir", directory, host, "--", "sh", "-c", command])
    }

    /// `stop`, `start`, `restart`, `cut`, `restore`, `kill-sshd`.
    public func host(_ verb: String, _ name: String) throws {
        let run = try runProcess(Lab.tool, ["host", verb, "--dir", directory, name])
        guard run.status == 0 else { throw LabError("lab host \(verb) \(name) failed: \(run.stderr)") }
    }

    /// Builds the k3s test double (an ELF file, as edgeup uploads real k3s) into the lab folder.
    public func buildDouble(version: String = "v1.31.4+k3s1", arch: String = "amd64", name: String = "k3s") throws -> String {
        let path = directory + "/" + name
        let run = try runProcess(repositoryRoot + "/lab/k3s-double/build", ["--version", version, "--arch", arch, "-o", path])
        guard run.status == 0 else { throw LabError("building the double failed: \(run.stderr)") }
        return path
    }

    /// The lab's inventory with extra text spliced into `defaults.k3s` (e.g. `binary: ./k3s`) and
    /// extra lines added to some stores (e.g. `["arch": "k3s: {binary: ./k3s-arm64}"]`).
    public func inventory(k3s extra: String, stores: [String: String] = [:], name: String = "airgap.yaml") throws -> String {
        let text = try String(contentsOfFile: inventory, encoding: .utf8)
        var patched = text.replacingOccurrences(of: "  k3s: {version: v1.31.4+k3s1}", with: "  k3s: {version: v1.31.4+k3s1, \(extra)}")
        guard patched != text else { throw LabError("the lab inventory's defaults.k3s line changed shape") }
        for (store, line) in stores {
            let marker = "  - name: \(store)\n"
            guard patched.contains(marker) else { throw LabError("store \(store) not in the lab inventory") }
            patched = patched.replacingOccurrences(of: marker, with: marker + "    \(line)\n")
        }
        let path = directory + "/" + name
        try patched.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

public struct LabError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
