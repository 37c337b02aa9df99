import Foundation

/// The end of every apply: a table of outcomes and each failure with its reason.
public struct ApplySummary: Sendable {
    public var result: RolloutResult
    public var style: TerminalStyle
    /// What a store that succeeded is called ("converged"; `reset` says "reset").
    public var done: String
    /// Bytes the run's uploads sent, shown when there were any.
    public var bytesUploaded: Int

    public init(result: RolloutResult, style: TerminalStyle, done: String = "converged", bytesUploaded: Int = 0) {
        self.result = result
        self.style = style
        self.done = done
        self.bytesUploaded = bytesUploaded
    }

    public var text: String {
        let converged = result.outcomes.filter(\.converged)
        let untouched = converged.filter { $0.result == .unchanged }.count
        let failed = result.failed
        var lines = [
            style.bold("Summary"),
            "  " + done.padding(toLength: 15, withPad: " ", startingAt: 0) + "\(converged.count)\(untouched > 0 ? " (\(untouched) had nothing to do)" : "")",
            "  failed         \(failed.count)",
            "  not started    \(result.notStarted.count)",
        ]
        if bytesUploaded > 0 { lines.append("  uploaded       \(ByteText.size(bytesUploaded))") }
        let snapshots = result.outcomes.compactMap { outcome in outcome.snapshot.map { (outcome.store, $0) } }.sorted { $0.0 < $1.0 }
        if !snapshots.isEmpty {
            lines.append("")
            lines.append("Snapshots taken before upgrading (on each store's first server):")
            lines += snapshots.prefix(20).map { "  \($0.0): \($0.1)" }
            if snapshots.count > 20 { lines.append("  … +\(snapshots.count - 20) more (each store's run events name its snapshot)") }
        }
        if !failed.isEmpty {
            lines.append("")
            lines.append(style.red("Failed stores:"))
            for outcome in failed.sorted(by: { $0.store < $1.store }) {
                let detail = (outcome.message ?? "failed").split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
                lines.append("  \(outcome.store):\n\(detail)")
            }
        }
        if !result.notStarted.isEmpty {
            let reasons = Dictionary(grouping: result.notStarted.keys.sorted()) { result.notStarted[$0] ?? "" }
            lines.append("")
            for (reason, stores) in reasons.sorted(by: { $0.key < $1.key }) {
                let shown = stores.prefix(10).joined(separator: ", ") + (stores.count > 10 ? ", … +\(stores.count - 10)" : "")
                lines.append(style.yellow("Not started (\(reason)):") + " \(shown)")
            }
        }
        lines.append("")
        lines.append(result.allConverged ? style.green("Every selected store \(done).") : style.red("Not every store \(done)."))
        return lines.joined(separator: "\n") + "\n"
    }

    public func junit(name: String, seconds: [String: Double], logs: [String: String] = [:]) -> JUnitReport {
        var results = result.outcomes.map { outcome in
            JUnitReport.StoreResult(
                store: outcome.store,
                status: outcome.converged ? .converged : .failed(outcome.message?.split(separator: "\n").first.map(String.init) ?? "failed"),
                seconds: seconds[outcome.store] ?? 0, log: outcome.converged ? logs[outcome.store] ?? "" : outcome.message ?? "")
        }
        results += result.notStarted.keys.sorted().map {
            JUnitReport.StoreResult(store: $0, status: .notStarted(result.notStarted[$0] ?? ""), seconds: 0)
        }
        return JUnitReport(name: name, results: results.sorted { $0.store < $1.store })
    }
}
