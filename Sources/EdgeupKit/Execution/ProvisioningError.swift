/// A step that failed on a host: which host, which step, what happened, what was last seen, and
/// the tail of the service log — everything needed to act without logging in.
public struct ProvisioningError: Error, Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var step: ProvisioningStep
    public var message: String
    public var lastSeen: String?
    public var logTail: String?

    public init(host: String, step: ProvisioningStep, _ message: String, lastSeen: String? = nil, logTail: String? = nil) {
        self.host = host
        self.step = step
        self.message = message
        self.lastSeen = lastSeen
        self.logTail = logTail
    }

    /// One line for summaries.
    public var summary: String { "\(host): \(step): \(message)" }

    public var description: String {
        var text = summary
        if let lastSeen { text += "\n  last seen: \(lastSeen)" }
        if let logTail, !logTail.isEmpty {
            text += "\n  service log (last lines):\n" + logTail.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        }
        return text
    }
}
