import Foundation

/// Caps the bytes per second that uploads send: a token bucket holding a second's worth, shared by
/// every upload it paces (a whole run, or one store's hosts). Uploads pay after each write, so the
/// average holds even when the transport takes less than it was offered.
public final class TransferPacer: Sendable {
    public let bytesPerSecond: Int
    private let state: Locked<(available: Double, updated: ContinuousClock.Instant)>

    public init(bytesPerSecond: Int) {
        self.bytesPerSecond = max(1, bytesPerSecond)
        state = Locked((Double(self.bytesPerSecond), .now))
    }

    /// How much one write should offer: a quarter second's worth, between 16 KiB and 1 MiB.
    var chunkSize: Int { min(1 << 20, max(16 << 10, bytesPerSecond / 4)) }

    /// Accounts for `count` bytes sent and waits until the bucket is no longer in debt.
    func paid(_ count: Int) async {
        let rate = Double(bytesPerSecond)
        let debt = state.withLock { bucket -> Double in
            let now = ContinuousClock.now
            let elapsed = (now - bucket.updated).seconds
            bucket.available = min(rate, bucket.available + elapsed * rate) - Double(count)
            bucket.updated = now
            return bucket.available < 0 ? -bucket.available / rate : 0
        }
        if debt > 0 { try? await Task.sleep(for: .seconds(debt)) }
    }
}

/// The pacers one upload answers to: the run's and its store's, either optional.
struct UploadPacing: Sendable {
    var pacers: [TransferPacer] = []

    var chunkSize: Int { pacers.map(\.chunkSize).min() ?? (1 << 20) }

    func paid(_ count: Int) async {
        for pacer in pacers { await pacer.paid(count) }
    }
}
