import EdgeCore
import EdgeSSH
import Foundation

/// Gathers facts from every host of the selected stores in parallel: one connection per host, one
/// read-only probe each. A host that cannot be reached becomes an observation, not an error.
public struct FactsGatherer: Sendable {
    public var session: FleetSession
    public var concurrency: Int
    public var probeTimeout: Duration

    public init(session: FleetSession, concurrency: Int = 100, probeTimeout: Duration = .seconds(60)) {
        self.session = session
        self.concurrency = concurrency
        self.probeTimeout = probeTimeout
    }

    public func gather(
        _ stores: [Store], onHost: (@Sendable (StoreHost, HostObservation) -> Void)? = nil
    ) async -> FleetObservations {
        let hosts = StoreHost.all(in: stores, removing: true)
        let observations = await fanOut(hosts, limit: concurrency) { target in
            let observation = await observe(target)
            onHost?(target, observation)
            return (target, observation)
        }
        var result: FleetObservations = [:]
        for (target, observation) in observations {
            result[target.store.id, default: [:]][target.host.id] = observation
        }
        return result
    }

    public func observe(_ target: StoreHost) async -> HostObservation {
        do throws(SSHError) {
            let remote = try await session.connection(to: target.host, in: target.store)
            let sudo = try session.access.sudo(for: target.host, in: target.store)
            let distribution = Distributions.distribution(for: target.store)
            let script = distribution.probeScript(for: target.host.role)
            let before = Date()
            let result = try await remote.run(RemoteCommand(
                ShellQuote.command(["sh", "-c", script]), sudo: sudo, timeout: probeTimeout))
            let after = Date()
            guard result.succeeded else {
                let detail = result.stderrText.split(separator: "\n").suffix(3).joined(separator: " / ")
                return .unreachable("facts probe failed (exit \(result.exitStatus.map(String.init) ?? result.exitSignal ?? "?")): \(detail)")
            }
            var facts = distribution.parseFacts(result.stdoutText)
            // The operator's clock at the probe's midpoint; the round trip bounds the error.
            let local = (before.timeIntervalSince1970 + after.timeIntervalSince1970) / 2
            facts.clockOffset = facts.clock.map { $0 - local }
            return .observed(facts)
        } catch {
            return .unreachable(error.description(from: target.label))
        }
    }
}
