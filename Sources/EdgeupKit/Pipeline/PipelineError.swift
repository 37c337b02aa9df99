/// A failure an entry point reports the way the CLI shows it: one message on stderr and an exit
/// status. Errors an entry point does not describe (a folder it cannot create, ...) pass through
/// unchanged.
public protocol PipelineError: Error, Sendable, CustomStringConvertible {
    /// The status the command exits with.
    var exitCode: Int32 { get }

    /// The line to print on stderr, in `style`; by default `edgeup: ` and the description.
    func message(style: TerminalStyle) -> String
}

extension PipelineError {
    public func message(style: TerminalStyle) -> String {
        "edgeup: " + description
    }
}
