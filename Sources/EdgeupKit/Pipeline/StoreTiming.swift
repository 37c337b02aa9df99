import Foundation

/// Seconds each store took, from its start and finish events (for the JUnit report).
public final class StoreTiming: @unchecked Sendable {
    private let lock = NSLock()
    private var started: [String: Date] = [:]
    private var durations: [String: Double] = [:]

    public init() {}

    public func record(_ event: RunEvent) {
        guard let store = event.store else { return }
        lock.withLock {
            switch event.kind {
            case .storeStarted: started[store] = event.time
            case .storeFinished: durations[store] = started[store].map { event.time.timeIntervalSince($0) } ?? 0
            default: break
            }
        }
    }

    /// Per finished store; a store that finished without a start event took 0 s.
    public var seconds: [String: Double] { lock.withLock { durations } }
}
