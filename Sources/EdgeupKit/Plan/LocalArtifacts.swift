import EdgeCore
import Foundation

/// A local file edgeup carries to hosts (air gap), inspected once per run.
public struct LocalArtifact: Sendable, Hashable, Codable {
    public var path: String
    public var sha256: String
    public var size: Int
    /// For executables: the CPU architecture in the ELF header; nil for data files.
    public var architecture: Architecture?

    public init(path: String, sha256: String, size: Int, architecture: Architecture?) {
        self.path = path
        self.sha256 = sha256
        self.size = size
        self.architecture = architecture
    }
}

/// The inventory's air-gap files, hashed and checked before planning, so the planner stays pure.
public struct LocalArtifacts: Sendable, Hashable {
    public var byPath: [String: LocalArtifact]
    /// Files that could not be read, with the reason (the planner turns them into problems).
    public var unreadable: [String: String]

    public init(byPath: [String: LocalArtifact] = [:], unreadable: [String: String] = [:]) {
        self.byPath = byPath
        self.unreadable = unreadable
    }

    /// Hashes every binary and images file the selected stores use (each file once).
    public static func inspect(_ stores: [Store]) -> LocalArtifacts {
        var result = LocalArtifacts()
        let binaries = Set(stores.compactMap(\.k3s.binary).flatMap(\.allPaths))
        let images = Set(stores.flatMap(\.k3s.airgapImages).flatMap(\.allPaths))
        for path in binaries.union(images).sorted() {
            do {
                let attributes = try FileManager.default.attributesOfItem(atPath: path)
                let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
                var architecture: Architecture?
                if binaries.contains(path) {
                    architecture = try ExecutableArchitecture.of(file: path)
                }
                let sha = try SHA256Digest.hexOfFile(path)
                result.byPath[path] = LocalArtifact(path: path, sha256: sha, size: size, architecture: architecture)
            } catch let problem as ExecutableArchitecture.Problem {
                result.unreadable[path] = problem.description
            } catch {
                result.unreadable[path] = "cannot read \(path): \(error.localizedDescription)"
            }
        }
        return result
    }
}
