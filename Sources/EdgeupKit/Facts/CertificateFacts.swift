import EdgeCore
import Foundation

/// When a node's certificates expire, by file name (`client-admin.crt`), as the facts probe read
/// them: leaves (serving and client certificates, which k3s renews) apart from authorities (the
/// CAs, which last ten years and are rotated differently). Files a host does not have are absent.
public struct CertificateFacts: Sendable, Hashable, Codable {
    /// Leaf certificates: file name → notAfter.
    public var leaves: [String: Date]
    /// Certificate authorities: file name → notAfter.
    public var authorities: [String: Date]

    public init(leaves: [String: Date] = [:], authorities: [String: Date] = [:]) {
        self.leaves = leaves
        self.authorities = authorities
    }

    public var isEmpty: Bool { leaves.isEmpty && authorities.isEmpty }

    /// The leaf that expires first (ties: the first name), nil without leaves.
    public var earliestLeaf: (name: String, notAfter: Date)? { Self.earliest(leaves) }

    /// The authority that expires first (ties: the first name), nil without authorities.
    public var earliestAuthority: (name: String, notAfter: Date)? { Self.earliest(authorities) }

    /// The leaf to renew: the earliest, when fewer than `window` whole days are left at `now`
    /// (expired ones too, with negative days); nil when every leaf is outside the window, or there
    /// are none. Authorities are not considered: `k3s certificate rotate` renews leaves only.
    public func needsRenewal(now: Date, window: Int) -> (name: String, daysLeft: Int)? {
        guard let leaf = earliestLeaf else { return nil }
        let days = Self.daysLeft(until: leaf.notAfter, at: now)
        return days < window ? (leaf.name, days) : nil
    }

    /// Whole days from `now` to `date`, rounded down (negative once past): fewer than N days left
    /// exactly when `daysLeft < N`.
    public static func daysLeft(until date: Date, at now: Date) -> Int {
        CertificateExpiry(notAfter: date).daysLeft(at: now)
    }

    private static func earliest(_ dates: [String: Date]) -> (name: String, notAfter: Date)? {
        dates.min { ($0.value, $0.key) < ($1.value, $1.key) }.map { ($0.key, $0.value) }
    }
}

// Facts saved before certificates were gathered have no `certificates` key: they read as empty, and
// empty ones are not written, so a host without certificates keeps the facts fingerprint it had.
// The synthesized Codable of `K3sFacts` (and of any other type holding `CertificateFacts`) calls
// these overloads, being more specific than the generic `decode`/`encode`.
extension KeyedDecodingContainer {
    public func decode(_ type: CertificateFacts.Type, forKey key: Key) throws -> CertificateFacts {
        try decodeIfPresent(type, forKey: key) ?? CertificateFacts()
    }
}

extension KeyedEncodingContainer {
    public mutating func encode(_ value: CertificateFacts, forKey key: Key) throws {
        if !value.isEmpty { try encodeIfPresent(value, forKey: key) }
    }
}
