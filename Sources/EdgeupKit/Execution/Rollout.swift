/// How a fleet change rolls out: a canary first, then batches, bounded concurrency, and a failure
/// budget past which no new store starts.
public struct RolloutOptions: Sendable, Hashable {
    /// Stores run first; if any of them fails, nothing else starts.
    public var canary: Int
    /// After the canary, stores start in batches of this size, each batch finishing before the
    /// next starts; nil means one sliding window over all stores.
    public var batchSize: Int?
    public var maxConcurrentStores: Int
    /// Failed stores tolerated; one more and no new store starts (running ones finish). nil: no limit.
    public var maxFailedStores: Int?

    public init(canary: Int = 0, batchSize: Int? = nil, maxConcurrentStores: Int = 50, maxFailedStores: Int? = nil) {
        self.canary = canary
        self.batchSize = batchSize
        self.maxConcurrentStores = maxConcurrentStores
        self.maxFailedStores = maxFailedStores
    }
}

/// How one store's run ended.
public struct StoreOutcome: Sendable, Hashable {
    public enum Result: String, Sendable, Hashable {
        /// Its plan ran to the end.
        case converged
        /// Its plan had nothing to do: no host was touched.
        case unchanged
        case failed
    }

    public var store: String
    public var result: Result
    public var message: String?
    /// The snapshot the run took before an upgrade (its file name on the first server).
    public var snapshot: String?

    public init(store: String, result: Result, message: String? = nil) {
        self.store = store
        self.result = result
        self.message = message
    }

    public init(store: String, converged: Bool, message: String? = nil) {
        self.init(store: store, result: converged ? .converged : .failed, message: message)
    }

    public var converged: Bool { result != .failed }
}

public struct RolloutResult: Sendable, Hashable {
    /// Stores that ran, in the order they finished.
    public var outcomes: [StoreOutcome]
    /// Stores that never started, with the reason.
    public var notStarted: [String: String]

    public init(outcomes: [StoreOutcome], notStarted: [String: String]) {
        self.outcomes = outcomes
        self.notStarted = notStarted
    }

    public var allConverged: Bool { notStarted.isEmpty && outcomes.allSatisfy(\.converged) }
    public var failed: [StoreOutcome] { outcomes.filter { !$0.converged } }
}

/// Runs `work` for each store under the rollout rules. Pure scheduling: what a store's work does
/// is the caller's; this decides only when each store may start.
public enum Rollout {
    public static func run(
        _ stores: [String], options: RolloutOptions, work: @escaping @Sendable (String) async -> StoreOutcome
    ) async -> RolloutResult {
        var result = RolloutResult(outcomes: [], notStarted: [:])
        let canary = Array(stores.prefix(max(0, options.canary)))
        let rest = Array(stores.dropFirst(canary.count))
        var phases: [[String]] = canary.isEmpty ? [] : [canary]
        if let size = options.batchSize, size > 0 {
            phases += stride(from: 0, to: rest.count, by: size).map { Array(rest[$0..<min($0 + size, rest.count)]) }
        } else if !rest.isEmpty {
            phases.append(rest)
        }
        var stopReason: String?
        for (index, phase) in phases.enumerated() {
            if let stopReason {
                for store in phase { result.notStarted[store] = stopReason }
                continue
            }
            let isCanary = index == 0 && !canary.isEmpty
            stopReason = await runPhase(phase, options: options, result: &result, work: work)
            if stopReason == nil, isCanary, result.outcomes.contains(where: { !$0.converged }) {
                stopReason = "canary failed"
            }
        }
        return result
    }

    /// Runs one phase with a sliding window; returns why the rollout must stop, if it must.
    private static func runPhase(
        _ stores: [String], options: RolloutOptions, result: inout RolloutResult,
        work: @escaping @Sendable (String) async -> StoreOutcome
    ) async -> String? {
        var pending = stores[...]
        var stopReason: String?
        await withTaskGroup(of: StoreOutcome.self) { group in
            var running = 0
            func startNext() {
                while running < max(1, options.maxConcurrentStores), stopReason == nil, let store = pending.popFirst() {
                    if Task.isCancelled {
                        stopReason = "cancelled"
                        pending.insert(store, at: pending.startIndex)
                        return
                    }
                    running += 1
                    group.addTask { await work(store) }
                }
            }
            startNext()
            while let outcome = await group.next() {
                running -= 1
                result.outcomes.append(outcome)
                if let budget = options.maxFailedStores, result.failed.count > budget, stopReason == nil {
                    stopReason = "failure budget of \(budget) failed store\(budget == 1 ? "" : "s") exhausted"
                }
                startNext()
            }
        }
        for store in pending { result.notStarted[store] = stopReason ?? "not started" }
        return stopReason
    }
}
