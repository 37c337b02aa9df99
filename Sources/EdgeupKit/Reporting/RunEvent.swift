import Foundation

/// One thing that happened during a run. The same events feed the terminal view, the plain CI
/// lines, `--output json` (one JSON object per line) and the run journal.
public struct RunEvent: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable {
        case runStarted = "run-started"
        case storeStarted = "store-started"
        case stepStarted = "step-started"
        case stepFinished = "step-finished"
        case storeFinished = "store-finished"
        case runFinished = "run-finished"
        case output
        case warning
    }

    public enum Outcome: String, Sendable, Codable {
        case ok
        case changed
        case failed
        case skipped
    }

    public var time: Date
    public var run: String
    public var kind: Kind
    public var store: String?
    public var host: String?
    public var action: ActionKind?
    public var outcome: Outcome?
    public var message: String?

    public init(
        _ kind: Kind, run: String, store: String? = nil, host: String? = nil, action: ActionKind? = nil,
        outcome: Outcome? = nil, message: String? = nil, time: Date = Date()
    ) {
        self.time = time
        self.run = run
        self.kind = kind
        self.store = store
        self.host = host
        self.action = action
        self.outcome = outcome
        self.message = message
    }

    /// One JSON object, no newlines inside: a JSON-lines record.
    public var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Milliseconds: a node's restart window is measured from these times.
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        }
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }

    /// `2026-11-21T10:00:00Z store-042/pi-042 start: ok` — the plain line CI logs show.
    public var plainLine: String {
        var text = ISO8601DateFormatter().string(from: time) + " "
        let place = [store, host].compactMap { $0 }.joined(separator: "/")
        text += place.isEmpty ? "edgeup" : place
        switch kind {
        case .runStarted: text += " run \(run) started"
        case .runFinished: text += " run \(run) finished"
        case .storeStarted: text += " started"
        case .storeFinished: text += " finished: \(outcome?.rawValue ?? "?")"
        case .stepStarted: text += " \(action?.rawValue ?? "step")…"
        case .stepFinished: text += " \(action?.rawValue ?? "step"): \(outcome?.rawValue ?? "?")"
        case .output: text += " |"
        case .warning: text += " warning:"
        }
        if let message, !message.isEmpty { text += " " + message }
        return text
    }
}
