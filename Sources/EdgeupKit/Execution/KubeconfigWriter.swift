/// Funnels the kubeconfigs of stores finishing at once into as few locked writes as possible: a
/// hundred stores merging one by one into the same file would queue on its lock file (and time
/// out); here whoever finds the writer idle writes everything pending in one merge. A store the
/// merge skipped (its name taken by an entry this fleet did not write) gets that error; the rest succeed.
public actor KubeconfigWriter {
    public nonisolated let destination: KubeconfigDestination
    private var pending: [(entry: StoreKubeconfig, done: CheckedContinuation<Void, any Error>)] = []
    private var flushing = false

    public init(destination: KubeconfigDestination) {
        self.destination = destination
    }

    public func write(_ entry: StoreKubeconfig) async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            pending.append((entry, done))
            if !flushing {
                flushing = true
                Task { await flush() }
            }
        }
    }

    private func flush() async {
        while !pending.isEmpty {
            let batch = pending
            pending = []
            do {
                let skipped = try await destination.write(batch.map(\.entry))
                for waiter in batch {
                    if let skip = skipped.first(where: { $0.context == waiter.entry.context }) {
                        waiter.done.resume(throwing: skip.error)
                    } else {
                        waiter.done.resume()
                    }
                }
            } catch {
                for waiter in batch { waiter.done.resume(throwing: error) }
            }
        }
        flushing = false
    }
}
