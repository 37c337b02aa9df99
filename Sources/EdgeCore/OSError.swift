import Foundation

/// An errno from a system call, printed as the system describes it.
public struct OSError: Error, CustomStringConvertible {
    public let code: Int32
    /// Public because EdgeSSH throws it too (spawning ssh, reading key files).
    public init(_ code: Int32) { self.code = code }
    public var description: String { String(cString: strerror(code)) }
}
