import EdgeCore
import Foundation

/// A context edgeup merged whose client certificate expires soon or has expired: kubectl is
/// refused once it has, and k3s's renewal on the server does not reach a copy in a kubeconfig.
/// Only the certificate's date is read and shown, never the data fields themselves.
public struct ClientCertificateWarning: Sendable, Hashable, CustomStringConvertible {
    /// Warned about from this many days before expiry.
    public static let noticeDays = 30

    /// The kubeconfig file (or `<stdout>`) holding the context.
    public var path: String
    public var context: String
    public var store: String
    public var notAfter: Date
    /// Whole days left when checked, negative once expired (`CertificateFacts.daysLeft(until:at:)`).
    public var daysLeft: Int

    public init(path: String, context: String, store: String, notAfter: Date, daysLeft: Int) {
        self.path = path
        self.context = context
        self.store = store
        self.notAfter = notAfter
        self.daysLeft = daysLeft
    }

    /// `context eu-001 in ~/.kube/config: its client certificate expires 2026-12-23 (20 days left)`.
    public var message: String {
        let date = CertificateText.date(notAfter)
        let when = daysLeft < 0
            ? "expired \(date) (\(CertificateText.ago(daysLeft))), so kubectl is refused"
            : "expires \(date) (\(CertificateText.daysLeft(daysLeft)))"
        return "context \(context) in \(path): its client certificate \(when)"
    }

    /// What to do about it.
    public static let fix = "run edgeup apply: stores inside the renewal window renew their certificates and the "
        + "kubeconfig is fetched again (if k3s renewed them already, edgeup kubeconfig fetches the new one)"

    public var description: String { message + "; " + Self.fix }

    /// As `status` and `kubeconfig` print it: a warning with the fix as its hint.
    public var diagnostic: Diagnostic { .warning(message, at: nil, hint: Self.fix) }

    /// The order warnings are shown in: the soonest expiry first, then by context.
    public static func soonestFirst(_ warnings: [ClientCertificateWarning]) -> [ClientCertificateWarning] {
        warnings.sorted { ($0.notAfter, $0.context) < ($1.notAfter, $1.context) }
    }

    /// The warnings for kubeconfig `text` read from `path`: one per selected store whose context
    /// edgeup wrote (for `fleet`, or for that store) and whose client certificate has fewer than
    /// `within` days left at `now`, soonest first. Text that does not parse gives none (the
    /// commands that write a kubeconfig report that themselves).
    public static func check(
        _ text: String, path: String, stores: [Store], fleet: String, now: Date, within: Int = noticeDays
    ) -> [ClientCertificateWarning] {
        guard let document = try? Kubeconfig(parsing: text, path: path) else { return [] }
        return document.clientCertificateWarnings(stores: stores, fleet: fleet, path: path, now: now, within: within)
    }
}

extension Kubeconfig {
    /// See `ClientCertificateWarning.check`: entries edgeup did not write are never read.
    public func clientCertificateWarnings(
        stores: [Store], fleet: String, path: String, now: Date, within: Int = ClientCertificateWarning.noticeDays
    ) -> [ClientCertificateWarning] {
        let warnings = stores.compactMap { store -> ClientCertificateWarning? in
            let ours = KubeconfigOwner(fleet: fleet, store: store.name)
            guard KubeconfigMerger.isOurs(owner(ofContext: store.context), ours),
                let userName = body(.contexts, named: store.context)?["user"]?.string,
                let user = body(.users, named: userName), KubeconfigMerger.isOurs(KubeconfigOwner(body: user), ours),
                let field = user["client-certificate-data"]?.string,
                let pem = Data(base64Encoded: field).flatMap({ String(data: $0, encoding: .utf8) }),
                let certificate = CertificateExpiry(pem: pem)
            else { return nil }
            let days = CertificateFacts.daysLeft(until: certificate.notAfter, at: now)
            guard days < within else { return nil }
            return ClientCertificateWarning(
                path: path, context: store.context, store: store.name, notAfter: certificate.notAfter, daysLeft: days)
        }
        return ClientCertificateWarning.soonestFirst(warnings)
    }
}
