import ArgumentParser
import EdgeupKit

/// How plan and apply treat a changed k3s.version: downgrades, and draining agents first.
struct UpgradeOptions: ParsableArguments {
    @Flag(name: .customLong("allow-downgrade"), help: "Move hosts to an older k3s.version instead of refusing (restore a snapshot of that release first).")
    var allowDowngrade = false

    @Flag(name: .long, help: "Cordon and drain each agent before its upgrade restart; uncordon it once Ready. Servers are never drained.")
    var drain = false

    @Option(name: .customLong("drain-timeout"), help: "Seconds kubectl drain may take per agent.")
    var drainTimeout = 300

    @Option(name: .customLong("drain-pod-selector"), help: ArgumentHelp("Evict only pods matching this label selector.", valueName: "selector"))
    var drainPodSelector: String?

    func validate() throws {
        guard drainTimeout > 0 else { throw ValidationError("--drain-timeout must be a positive number of seconds") }
        guard drain || drainPodSelector == nil else { throw ValidationError("--drain-pod-selector needs --drain") }
    }

    var drainPolicy: DrainPolicy? {
        drain ? DrainPolicy(timeoutSeconds: drainTimeout, podSelector: drainPodSelector) : nil
    }
}
