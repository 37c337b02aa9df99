import Foundation

/// Facts from every selected host and the executable plan made from them.
public enum GatheredPlan {
    /// Gathers facts over a session of its own, closed before returning (nothing may run in the
    /// SSH layer at exit). Sends `.factsProgress` per host, then `.warnings`.
    public static func gather(_ options: PlanningOptions, events: @escaping PipelineEvents) async -> ExecutablePlan {
        let session = options.session()
        let gathered = await gather(options, session: session, events: events)
        await session.close()
        return gathered
    }

    /// Gathers facts over `session`, left open for the run that follows. Sends `.factsProgress`
    /// per host, then `.warnings`.
    public static func gather(
        _ options: PlanningOptions, session: FleetSession, events: @escaping PipelineEvents
    ) async -> ExecutablePlan {
        let total = options.hosts.count
        let counter = Counter()
        var runner = FleetRunner(
            session: session, factsConcurrency: options.factsConcurrency,
            kubeconfigContexts: options.kubeconfig.mergedContexts, playbooks: options.playbooks,
            playbooksOnly: options.playbooksOnly)
        runner.allowDowngrade = options.allowDowngrade
        runner.drain = options.drain
        let plan = await runner.plan(options.inventory, stores: options.stores) { _, _ in
            events(.factsProgress(seen: counter.increment(), total: total))
        }
        events(.warnings(session.client.warnings))
        return plan
    }
}

/// A counter callbacks from many tasks can bump.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func increment() -> Int {
        lock.withLock {
            value += 1
            return value
        }
    }
}
