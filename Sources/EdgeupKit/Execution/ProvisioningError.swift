/// A step that failed on a host: which host, which step, what happened, what was last seen, and
/// the tail of the service log — everything needed to act without logging in.
public struct ProvisioningError: Error, Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var step: ProvisioningStep
    public var message: String
    public var lastSeen: String?
    public var logTail: String?
    /// How to undo what the failed run changed (an upgrade's rollback), when that is possible.
    public var rollback: String?

    public init(
        host: String, step: ProvisioningStep, _ message: String, lastSeen: String? = nil, logTail: String? = nil,
        rollback: String? = nil
    ) {
        self.host = host
        self.step = step
        self.message = message
        self.lastSeen = lastSeen
        self.logTail = logTail
        self.rollback = rollback
    }

    /// One line for summaries.
    public var summary: String { "\(host): \(step): \(message)" }

    public var description: String {
        var text = summary
        if let lastSeen { text += "\n  last seen: \(lastSeen)" }
        if let logTail, !logTail.isEmpty {
            text += "\n  service log (last lines):\n" + logTail.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        }
        if let rollback { text += "\n  rollback: " + rollback }
        return text
    }
}
