/// A failure on one hop, saying where (hop and step), what, and what to do.
public struct SSHError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable {
        case connectRefused, connectFailed, timeout
        case hostKeyUnknown, hostKeyChanged, hostKeyRevoked, hostKeyFile
        case authFailed, unsupportedKey, keyFile
        case channel, sftp, transfer, sudo, disconnected, cancelled, protocolError, localProcess
    }

    public enum Step: String, Sendable {
        case connect, handshake, hostKey = "host key", auth, exec, upload, download, close
    }

    public var kind: Kind
    /// The hop's label, e.g. "store-042/pi-042".
    public var hop: String
    public var step: Step
    public var message: String
    public var hint: String?

    public init(_ kind: Kind, hop: String, step: Step, _ message: String, hint: String? = nil) {
        self.kind = kind
        self.hop = hop
        self.step = step
        self.message = message
        self.hint = hint
    }

    public var description: String {
        "\(hop): \(step.rawValue): \(message)" + (hint.map { " — hint: \($0)" } ?? "")
    }
}
