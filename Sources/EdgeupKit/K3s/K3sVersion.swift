import Foundation

/// A k3s release version, `v1.31.4+k3s1`, ordered the way releases are.
public struct K3sVersion: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int
    /// The k3s build suffix number (`+k3s2` → 2); 0 when absent.
    public var build: Int
    public var text: String

    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("v") else { return nil }
        let parts = trimmed.dropFirst().split(separator: "+", maxSplits: 1)
        let numbers = parts[0].split(separator: ".").map { Int($0) }
        guard numbers.count == 3, let major = numbers[0], let minor = numbers[1], let patch = numbers[2] else {
            return nil
        }
        self.major = major
        self.minor = minor
        self.patch = patch
        build = parts.count == 2 && parts[1].hasPrefix("k3s") ? Int(parts[1].dropFirst(3)) ?? 0 : 0
        self.text = trimmed
    }

    /// Parses the first line of `k3s --version`: `k3s version v1.31.4+k3s1 (a1b2c3d4)`.
    public init?(versionOutput output: String) {
        let words = output.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard let index = words.firstIndex(of: "version"), index + 1 < words.count else { return nil }
        self.init(String(words[index + 1]))
    }

    public var description: String { text }

    public static func < (a: K3sVersion, b: K3sVersion) -> Bool {
        (a.major, a.minor, a.patch, a.build) < (b.major, b.minor, b.patch, b.build)
    }
}

extension K3sVersion {
    /// Kubernetes allows upgrading one minor version at a time.
    public func canUpgrade(to target: K3sVersion) -> Bool {
        target.major == major && target.minor <= minor + 1
    }
}
