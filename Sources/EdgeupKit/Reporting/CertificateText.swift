import Foundation

/// How edgeup words a certificate's expiry: the same in plans, `status` and kubeconfig warnings.
public enum CertificateText {
    /// Plans show a store's certificates only from this many days before its renewal window on.
    public static let planNoticeDays = 30

    /// "20 days left", "1 day left", "less than a day left", "expired less than a day ago",
    /// "expired 3 days ago",
    /// from whole days left rounded down (`CertificateFacts.daysLeft(until:at:)`).
    public static func daysLeft(_ days: Int) -> String {
        switch days {
        case 0: "less than a day left"
        case 1: "1 day left"
        case 2...: "\(days) days left"
        default: "expired " + ago(days)
        }
    }

    /// How long ago a certificate with `days` left (negative) expired: "less than a day ago",
    /// "1 day ago", "3 days ago".
    public static func ago(_ days: Int) -> String {
        switch -days - 1 {
        case ...0: "less than a day ago"
        case 1: "1 day ago"
        case let elapsed: "\(elapsed) days ago"
        }
    }

    /// The day, in UTC: `2026-12-23`.
    public static func date(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// Where `days` left stand against a renewal window of `window` days: "inside the 90-day
    /// renewal window", or "the 90-day renewal window starts in 21 days".
    public static func window(_ days: Int, _ window: Int) -> String {
        if days < window { return "inside the \(window)-day renewal window" }
        let wait = days - window + 1
        return "the \(window)-day renewal window starts in \(wait == 1 ? "1 day" : "\(wait) days")"
    }

    /// A plan's note on one certificate: `20 days left (client-admin.crt on pi-042, 2026-12-23) —
    /// inside the 90-day renewal window`; without `host` when a group of stores shares it. CAs are
    /// not renewed by k3s's rotation, so theirs says how they are replaced.
    public static func planNote(_ deadline: CertificateDeadline, window: Int, host: Bool) -> String {
        let place = host ? "\(deadline.name) on \(deadline.host), " : "\(deadline.name), "
        let what = "\(daysLeft(deadline.daysLeft)) (\(place)\(date(deadline.notAfter)))"
        guard deadline.isAuthority else { return "\(what) — \(self.window(deadline.daysLeft, window))" }
        return "CA \(what) — k3s certificate rotate-ca replaces it"
    }

    /// The certificates of `store` a plan mentions: its earliest leaf and its earliest CA, each only
    /// when fewer than the renewal window plus `planNoticeDays` days are left at `now`.
    public static func planDeadlines(_ store: StorePlan, at now: Date) -> [CertificateDeadline] {
        guard let certificates = store.certificates else { return [] }
        let limit = certificates.renewalWindowDays + planNoticeDays
        return [certificates.earliestLeaf(at: now), certificates.earliestAuthority(at: now)]
            .compactMap { $0 }.filter { $0.daysLeft < limit }
    }
}
