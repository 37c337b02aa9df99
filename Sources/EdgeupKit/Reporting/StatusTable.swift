import Foundation

/// One row of `edgeup status`: what is known about a store, from the journal or a live plan.
public struct StoreStatus: Sendable, Hashable, Codable {
    public var store: String
    /// converged / failed / blocked / changes / never
    public var state: String
    public var run: String?
    public var when: Date?
    public var detail: String?
    /// `--live`: per host, its earliest leaf certificate and earliest CA with the days left when
    /// the facts were gathered; nil from the journal, or when no host reported any.
    public var certificates: [CertificateDeadline]?
    /// `--live`: the store's renewal window (`Store.certificateRenewalWindow`).
    public var renewalWindowDays: Int?

    public init(
        store: String, state: String, run: String? = nil, when: Date? = nil, detail: String? = nil,
        certificates: [CertificateDeadline]? = nil, renewalWindowDays: Int? = nil
    ) {
        self.store = store
        self.state = state
        self.run = run
        self.when = when
        self.detail = detail
        self.certificates = certificates
        self.renewalWindowDays = renewalWindowDays
    }

    /// Rows from the last recorded state of each store (no connection).
    public static func fromJournal(_ stores: [Store], states: [String: StoreState]) -> [StoreStatus] {
        stores.map { store in
            guard let state = states[store.name] else { return StoreStatus(store: store.name, state: "never") }
            return StoreStatus(
                store: store.name, state: state.outcome.rawValue, run: state.run, when: state.finishedAt,
                detail: state.message?.split(separator: "\n").first.map(String.init))
        }
    }

    /// Rows from a fresh plan (`--live`).
    public static func fromPlan(_ plan: Plan) -> [StoreStatus] {
        plan.stores.map { store in
            var row = switch store.status {
            case .converged: StoreStatus(store: store.store.name, state: "converged")
            case .changes: StoreStatus(store: store.store.name, state: "changes", detail: "\(store.actions.count) action(s) pending")
            case .blocked: StoreStatus(store: store.store.name, state: "blocked", detail: store.problems.first?.description)
            }
            row.certificates = store.certificates?.deadlines(at: plan.createdAt)
            row.renewalWindowDays = store.certificates?.renewalWindowDays
            return row
        }
    }

    /// The CERTS cell: the earliest leaf's days left (`20d`; with its host when several hosts
    /// reported), then the earliest CA's when under a year (`CA 200d`); "-" without certificates.
    public var certificatesCell: String {
        guard let deadlines = certificates, !deadlines.isEmpty else { return "-" }
        let leaves = deadlines.filter { !$0.isAuthority }
        var parts: [String] = []
        if let leaf = leaves.min(by: { $0.notAfter < $1.notAfter }) {
            parts.append("\(leaf.daysLeft)d" + (Set(leaves.map(\.host)).count > 1 ? " (\(leaf.host))" : ""))
        }
        if let authority = deadlines.filter(\.isAuthority).min(by: { $0.notAfter < $1.notAfter }),
            authority.daysLeft < StatusTable.authorityNoticeDays
        {
            parts.append("CA \(authority.daysLeft)d")
        }
        return parts.isEmpty ? "-" : parts.joined(separator: ", ")
    }

    /// The earliest leaf's days left (negative: expired), for colouring the CERTS cell.
    var earliestLeafDaysLeft: Int? {
        certificates?.filter { !$0.isAuthority }.map(\.daysLeft).min()
    }
}

public enum StatusTable {
    /// A CA is shown in the CERTS column once it has fewer days left than this.
    public static let authorityNoticeDays = 365

    /// One row per store; a CERTS column (`StoreStatus.certificatesCell`) when any row has
    /// certificates (`--live`), yellow inside the store's renewal window, red once expired.
    public static func render(_ rows: [StoreStatus], style: TerminalStyle) -> String {
        let formatter = ISO8601DateFormatter()
        let showCertificates = rows.contains { $0.certificates != nil }
        let table = rows.map { row in
            [row.store, row.state, row.when.map(formatter.string(from:)) ?? "-", row.run ?? "-"]
                + (showCertificates ? [row.certificatesCell] : []) + [row.detail ?? ""]
        }
        let header = ["STORE", "STATE", "WHEN", "RUN"] + (showCertificates ? ["CERTS"] : []) + ["DETAIL"]
        let padded = header.count - 1
        let widths = (0..<padded).map { column in ([header] + table).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String], colours: [Int: (String) -> String] = [:]) -> String {
            var text = ""
            for column in 0..<padded {
                let cell = cells[column].padding(toLength: widths[column], withPad: " ", startingAt: 0)
                text += (colours[column]?(cell) ?? cell) + "  "
            }
            return text + cells[padded]
        }
        var lines = [style.bold(line(header))]
        for (row, cells) in zip(rows, table) {
            var colours: [Int: (String) -> String] = [:]
            colours[1] = switch row.state {
            case "converged": style.green
            case "failed", "blocked": style.red
            default: style.yellow
            }
            if showCertificates, let days = row.earliestLeafDaysLeft, let window = row.renewalWindowDays {
                if days < 0 {
                    colours[4] = style.red
                } else if days < window {
                    colours[4] = style.yellow
                }
            }
            lines.append(line(cells, colours: colours))
        }
        var counts: [String: Int] = [:]
        for row in rows { counts[row.state, default: 0] += 1 }
        lines.append(counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        return lines.joined(separator: "\n") + "\n"
    }
}
