import Dispatch
import Foundation

/// Ends a run cleanly on SIGINT or SIGTERM: the first signal cancels the run's task, so no new
/// store starts, remote commands are abandoned (edgeup stops waiting for them; a command that
/// outlives its channel is not killed yet), each store's state and the journal are written and the
/// summary is printed; a second signal exits at once. Without this,
/// ^C or a CI runner's SIGTERM would kill edgeup mid-step with nothing recorded.
public final class Interruption: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32?

    /// The signal that interrupted the run, if one did.
    public var signalNumber: Int32? { lock.withLock { received } }

    /// The conventional exit status for the signal (128 + its number), if one came.
    public var exitStatus: Int32? { signalNumber.map { 128 + $0 } }

    /// True for the first signal, false for any later one.
    private func receive(_ number: Int32) -> Bool {
        lock.withLock {
            defer { if received == nil { received = number } }
            return received == nil
        }
    }

    /// Runs `operation`, cancelling it on the first SIGINT/SIGTERM (after telling `notice` what
    /// `stopping` means), and exiting at once on the second.
    public static func guarding<T: Sendable>(
        notice: @escaping @Sendable (String) -> Void, stopping: String = "no new store starts",
        _ operation: @escaping @Sendable () async -> T
    ) async -> (value: T, interruption: Interruption) {
        let interruption = Interruption()
        let task = Task { await operation() }
        let handled: [(Int32, String)] = [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")]
        let sources = handled.map { number, name in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                guard interruption.receive(number) else { _exit(128 + number) }
                notice("\(name): stopping; \(stopping) (again to exit at once)")
                task.cancel()
            }
            source.resume()
            return source
        }
        let value = await task.value
        for source in sources { source.cancel() }
        for (number, _) in handled { signal(number, SIG_DFL) }
        return (value, interruption)
    }
}
