#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ANSI styling that switches itself off for pipes, CI logs, `TERM=dumb` and `NO_COLOR`
/// (https://no-color.org: any non-empty value disables colour).
public struct TerminalStyle: Sendable {
    public var colors: Bool

    public init(colors: Bool) {
        self.colors = colors
    }

    /// Decides from the environment and whether the file descriptor is a terminal.
    public static func detect(fileDescriptor: Int32, environment: [String: String]) -> TerminalStyle {
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty
        let dumb = environment["TERM"] == "dumb"
        return TerminalStyle(colors: !noColor && !dumb && isatty(fileDescriptor) == 1)
    }

    public func red(_ text: String) -> String { wrap(text, "31") }
    public func yellow(_ text: String) -> String { wrap(text, "33") }
    public func green(_ text: String) -> String { wrap(text, "32") }
    public func bold(_ text: String) -> String { wrap(text, "1") }
    public func dim(_ text: String) -> String { wrap(text, "2") }

    private func wrap(_ text: String, _ code: String) -> String {
        colors ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    /// One diagnostic as the CLI prints it: location, coloured severity, message, then the hint.
    public func render(_ diagnostic: Diagnostic) -> String {
        var line = diagnostic.location.map { bold("\($0): ") } ?? ""
        switch diagnostic.severity {
        case .error: line += red("error:") + " "
        case .warning: line += yellow("warning:") + " "
        }
        line += diagnostic.message
        if let hint = diagnostic.hint { line += "\n    " + dim("hint: \(hint)") }
        return line
    }
}
