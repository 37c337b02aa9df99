import Foundation

/// When the certificates of a store's hosts expire, carried by the plan so `plan` and
/// `status --live` can show days left (the facts themselves stay out of the plan). Only for
/// display: the renewal rule is `CertificateFacts.needsRenewal(now:window:)`.
public struct StoreCertificates: Sendable, Hashable, Codable {
    /// The store's `certificateRenewalWindow` when the plan was made.
    public var renewalWindowDays: Int
    /// The hosts that reported certificates, in store order.
    public var hosts: [HostCertificates]

    public init(renewalWindowDays: Int, hosts: [HostCertificates]) {
        self.renewalWindowDays = renewalWindowDays
        self.hosts = hosts
    }

    /// From the store's observed facts; nil when no host reported a certificate (not installed, or
    /// unreachable).
    public init?(_ store: Store, observations: [HostID: HostObservation]) {
        let hosts = store.hosts.compactMap { host -> HostCertificates? in
            guard let facts = observations[host.id]?.facts?.k3s.certificates, !facts.isEmpty else { return nil }
            return HostCertificates(host: host.id, facts)
        }
        guard !hosts.isEmpty else { return nil }
        self.init(renewalWindowDays: store.certificateRenewalWindow, hosts: hosts)
    }

    /// Per host, its earliest leaf and (after it) its earliest authority, with days left at `now`.
    public func deadlines(at now: Date) -> [CertificateDeadline] {
        hosts.flatMap { host in
            [host.facts.earliestLeaf.map { CertificateDeadline(host: host.host, $0, isAuthority: false, at: now) },
             host.facts.earliestAuthority.map { CertificateDeadline(host: host.host, $0, isAuthority: true, at: now) }]
                .compactMap { $0 }
        }
    }

    /// The leaf that expires first on any host (ties: the first host in store order).
    public func earliestLeaf(at now: Date) -> CertificateDeadline? {
        Self.earliest(deadlines(at: now).filter { !$0.isAuthority })
    }

    /// The authority that expires first on any host (ties: the first host in store order).
    public func earliestAuthority(at now: Date) -> CertificateDeadline? {
        Self.earliest(deadlines(at: now).filter(\.isAuthority))
    }

    private static func earliest(_ deadlines: [CertificateDeadline]) -> CertificateDeadline? {
        deadlines.enumerated().min { ($0.element.notAfter, $0.offset) < ($1.element.notAfter, $1.offset) }?.element
    }
}

/// One host's certificate expiry, as the plan carries it (file name → notAfter).
public struct HostCertificates: Sendable, Hashable, Codable {
    public var host: HostID
    public var leaves: [String: Date]
    public var authorities: [String: Date]

    public init(host: HostID, _ facts: CertificateFacts) {
        self.host = host
        leaves = facts.leaves
        authorities = facts.authorities
    }

    public var facts: CertificateFacts { CertificateFacts(leaves: leaves, authorities: authorities) }
}

/// One certificate of one host and the whole days left until it expires (negative once expired).
public struct CertificateDeadline: Sendable, Hashable, Codable {
    public var host: HostID
    /// The file name (`client-admin.crt`).
    public var name: String
    public var notAfter: Date
    public var daysLeft: Int
    public var isAuthority: Bool

    public init(host: HostID, name: String, notAfter: Date, daysLeft: Int, isAuthority: Bool) {
        self.host = host
        self.name = name
        self.notAfter = notAfter
        self.daysLeft = daysLeft
        self.isAuthority = isAuthority
    }

    init(host: HostID, _ certificate: (name: String, notAfter: Date), isAuthority: Bool, at now: Date) {
        self.init(
            host: host, name: certificate.name, notAfter: certificate.notAfter,
            daysLeft: CertificateFacts.daysLeft(until: certificate.notAfter, at: now), isAuthority: isAuthority)
    }
}
