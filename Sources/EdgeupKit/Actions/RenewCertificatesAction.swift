import Foundation

/// Renews a node's k3s certificates once its earliest leaf is inside the store's renewal window
/// (`k3s.certificateRenewalDays`), with k3s's documented procedure: on servers `k3s certificate
/// rotate` while k3s is stopped; agents request new kubelet certificates from a server at every
/// start. The restart that follows issues them, gated like an upgrade. Judged on the host's own
/// clock, which is the one its TLS peers check.
struct RenewCertificatesAction: HostAction {
    let kind = ActionKind.renewCertificates

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard context.installed, let clock = context.facts.clock else { return nil }
        let window = context.store.certificateRenewalWindow
        guard let due = context.facts.k3s.certificates.needsRenewal(now: Date(timeIntervalSince1970: clock), window: window)
        else { return nil }
        let left = due.daysLeft < 0 ? "expired \(-due.daysLeft) days ago" : "\(due.daysLeft) days left"
        return ActionNeed("\(due.name): \(left), inside the \(window)-day renewal window", restartCause: "renewed certificates")
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        guard node.target.host.role == .server else { return nil }
        let step = ProvisioningStep.action(.renewCertificates)
        try await node.privileged(node.serviceManager.control("stop", node.service), step: step, timeout: .seconds(300))
        try await node.privileged(node.distribution.rotateCertificates(), step: step, timeout: .seconds(120))
        return nil
    }
}
