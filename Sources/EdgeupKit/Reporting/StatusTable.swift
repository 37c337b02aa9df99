import Foundation

/// One row of `edgeup status`: what is known about a store, from the journal or a live plan.
public struct StoreStatus: Sendable, Hashable, Codable {
    public var store: String
    /// converged / failed / blocked / changes / never
    public var state: String
    public var run: String?
    public var when: Date?
    public var detail: String?

    public init(store: String, state: String, run: String? = nil, when: Date? = nil, detail: String? = nil) {
        self.store = store
        self.state = state
        self.run = run
        self.when = when
        self.detail = detail
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
            switch store.status {
            case .converged: StoreStatus(store: store.store.name, state: "converged")
            case .changes: StoreStatus(store: store.store.name, state: "changes", detail: "\(store.actions.count) action(s) pending")
            case .blocked: StoreStatus(store: store.store.name, state: "blocked", detail: store.problems.first?.description)
            }
        }
    }
}

public enum StatusTable {
    public static func render(_ rows: [StoreStatus], style: TerminalStyle) -> String {
        let formatter = ISO8601DateFormatter()
        let table = rows.map { row in
            [row.store, row.state, row.when.map(formatter.string(from:)) ?? "-", row.run ?? "-", row.detail ?? ""]
        }
        let header = ["STORE", "STATE", "WHEN", "RUN", "DETAIL"]
        let widths = (0..<4).map { column in ([header] + table).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String], colour: (String) -> String = { $0 }) -> String {
            var text = ""
            for column in 0..<4 {
                let cell = cells[column].padding(toLength: widths[column], withPad: " ", startingAt: 0)
                text += (column == 1 ? colour(cell) : cell) + "  "
            }
            return text + cells[4]
        }
        var lines = [style.bold(line(header))]
        for row in table {
            let colour: (String) -> String = switch row[1] {
            case "converged": style.green
            case "failed", "blocked": style.red
            default: style.yellow
            }
            lines.append(line(row, colour: colour))
        }
        var counts: [String: Int] = [:]
        for row in rows { counts[row.state, default: 0] += 1 }
        lines.append(counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        return lines.joined(separator: "\n") + "\n"
    }
}
