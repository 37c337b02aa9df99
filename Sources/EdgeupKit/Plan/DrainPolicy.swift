/// `--drain`: agents are cordoned and drained before an upgrade restarts them, and uncordoned once
/// Ready on the new release. Servers are never drained (a store's sole server would lose its
/// workloads with nowhere to go); restarting k3s does not stop running pods, so the default is
/// no drain (k3s-io/k3s #2187).
public struct DrainPolicy: Sendable, Hashable {
    /// kubectl drain's `--timeout`.
    public var timeoutSeconds: Int
    /// kubectl drain's `--pod-selector`: only these pods are evicted.
    public var podSelector: String?

    public init(timeoutSeconds: Int = 300, podSelector: String? = nil) {
        self.timeoutSeconds = timeoutSeconds
        self.podSelector = podSelector
    }
}
