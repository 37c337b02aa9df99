import EdgeupKit
import Testing

/// Tracks what ran and how many ran at once.
actor Recorder {
    var started: [String] = []
    var running = 0
    var peak = 0

    func begin(_ store: String) {
        started.append(store)
        running += 1
        peak = max(peak, running)
    }

    func end() { running -= 1 }
}

@Suite struct RolloutTests {
    let stores = (1...20).map { "s\($0)" }

    func work(_ recorder: Recorder, failing: Set<String> = []) -> @Sendable (String) async -> StoreOutcome {
        { store in
            await recorder.begin(store)
            try? await Task.sleep(for: .milliseconds(5))
            await recorder.end()
            return StoreOutcome(store: store, converged: !failing.contains(store), message: failing.contains(store) ? "boom" : nil)
        }
    }

    @Test func everyStoreRunsOnceWithinTheConcurrencyLimit() async {
        let recorder = Recorder()
        let result = await Rollout.run(stores, options: RolloutOptions(maxConcurrentStores: 4), work: work(recorder))
        #expect(result.allConverged)
        #expect(await recorder.started.sorted() == stores.sorted())
        #expect(await recorder.peak <= 4)
        #expect(await recorder.peak > 1, "stores run in parallel")
    }

    @Test func failedCanaryStopsTheRollout() async {
        let recorder = Recorder()
        let result = await Rollout.run(
            stores, options: RolloutOptions(canary: 3, maxConcurrentStores: 8), work: work(recorder, failing: ["s2"]))
        #expect(await recorder.started.sorted() == ["s1", "s2", "s3"])
        #expect(result.notStarted.count == 17)
        #expect(result.notStarted["s20"] == "canary failed")
        #expect(!result.allConverged)
    }

    @Test func healthyCanaryThenBatches() async {
        let recorder = Recorder()
        let result = await Rollout.run(
            stores, options: RolloutOptions(canary: 2, batchSize: 5, maxConcurrentStores: 10), work: work(recorder))
        #expect(result.allConverged)
        let started = await recorder.started
        #expect(Set(started.prefix(2)) == ["s1", "s2"], "canary first")
        #expect(Set(started[2..<7]) == ["s3", "s4", "s5", "s6", "s7"], "then the first batch, whole, before the next")
        #expect(await recorder.peak <= 5)
    }

    @Test func failureBudgetStopsStartingNewStores() async {
        let recorder = Recorder()
        let result = await Rollout.run(
            stores, options: RolloutOptions(maxConcurrentStores: 1, maxFailedStores: 1),
            work: work(recorder, failing: ["s3", "s5", "s9"]))
        #expect(await recorder.started == ["s1", "s2", "s3", "s4", "s5"], "the second failure exhausts a budget of 1")
        #expect(result.failed.map(\.store) == ["s3", "s5"])
        #expect(result.notStarted.count == 15)
        #expect(result.notStarted["s6"] == "failure budget of 1 failed store exhausted")
    }

    @Test func cancellationStopsNewStores() async {
        let recorder = Recorder()
        let task = Task {
            await Rollout.run(stores, options: RolloutOptions(maxConcurrentStores: 1)) { store in
                await recorder.begin(store)
                try? await Task.sleep(for: .milliseconds(20))
                await recorder.end()
                return StoreOutcome(store: store, converged: true)
            }
        }
        while await recorder.started.count < 2 { await Task.yield() }
        task.cancel()
        let result = await task.value
        #expect(result.outcomes.count <= 3, "stores already running finish; no new ones start")
        #expect(result.notStarted.values.allSatisfy { $0 == "cancelled" })
        #expect(result.outcomes.count + result.notStarted.count == 20)
    }
}
