import EdgeupKit
import Testing

/// Failure reports, journals and JUnit files name steps as they always did; the typing must not
/// change what operators (and their grep) read.
@Suite struct ProvisioningStepTests {
    @Test func stepsAreShownByTheirReportNames() {
        let shown: [(ProvisioningStep, String)] = [
            (.preflight, "preflight"), (.connect, "connect"), (.facts, "facts"), (.lock, "lock"), (.readToken, "read token"),
            (.markRestart, "mark-restart"), (.readiness, "readiness"), (.join, "join"), (.action(.writeConfig), "write-config"),
            (.action(.fetchKubeconfig), "fetch-kubeconfig"), (.playbook(nil), "playbook"), (.playbook("base/crds"), "playbook base/crds"),
            (.rollout(unit: "base/app", workload: "Deployment default/app"), "playbook base/app: rollout Deployment default/app"),
        ]
        for (step, name) in shown { #expect(step.description == name) }
        let error = ProvisioningError(host: "shop/s1", step: .action(.start), "k3s failed to start")
        #expect(error.summary == "shop/s1: start: k3s failed to start")
    }
}
