import EdgeupKit
import Testing

/// What the planner does with facts a hostile or interrupted host reports (issue #12).
extension PlannerTests {
    /// The one-server store's plan when its server has no inventory `name` and reports `hostname`.
    func planUnnamed(hostname: String) -> StorePlan {
        var store = inventory.stores[1]
        store.hosts[0].nodeName = nil
        var observations = bare(store)
        modify(&observations, "pi") { $0.hostname = hostname }
        return planner.plan(store, observations: observations)
    }

    @Test func hostnameWithShellSyntaxIsRefusedAndNothingIsPlannedForIt() {
        let plan = planUnnamed(hostname: "x;touch /tmp/p")
        #expect(!plan.actions.contains { $0.host == "pi" && $0.kind != .fetchKubeconfig }, "\(plan.actions)")
        #expect(plan.status == .blocked)
        #expect(plan.problems.first?.message.contains("is not a valid Kubernetes node name") == true)
    }

    @Test func controlCharactersInAHostnameAreEscapedInTheProblem() {
        let message = planUnnamed(hostname: "pi\u{1b}[2J").problems.first?.message ?? ""
        #expect(!message.contains("\u{1b}") && message.contains("\\u{1b}"), "\(message)")
    }

    @Test func anUppercaseHostnameRegistersLowercasedAsK3sDoes() {
        #expect(planUnnamed(hostname: "Pi-042").problems.isEmpty)
    }

    @Test func aNamedHostDoesNotDependOnItsHostname() {
        var observations = converged(ha)
        modify(&observations, "a1") { $0.hostname = "$(reboot)" }
        #expect(planner.plan(ha, observations: observations).problems.isEmpty, "the inventory name is the node name")
    }

    @Test func anAgentHoldingTheServerTokenGetsTheAgentToken() {
        var observations = converged(ha)
        modify(&observations, "a1") { $0.k3s.joinTokenFingerprint = "t0ken" }
        let plan = planner.plan(ha, observations: observations)
        #expect(summary(plan) == ["write-token a1", "restart a1", "fetch-kubeconfig s1"])
        #expect(plan.actions[0].reason == "the agent holds the server token; agents get the agent token")
    }

    @Test func aStoreFromBeforeAgentTokensMigratesServersFirstThenAgents() {
        var observations = converged(ha)
        for server in ha.servers {
            modify(&observations, server.id) { facts in
                facts.k3s.agentTokenFingerprint = nil
                facts.k3s.agentJoinTokenFingerprint = nil
                facts.k3s.configSHA256 = "written by an edgeup without agent-token-file"
            }
        }
        modify(&observations, "a1") { $0.k3s.joinTokenFingerprint = "t0ken" }
        let plan = planner.plan(ha, observations: observations)
        #expect(summary(plan) == [
            "write-config s1", "write-agent-token s1", "restart s1",
            "write-config s2", "write-agent-token s2", "restart s2",
            "write-config s3", "write-agent-token s3", "restart s3",
            "write-token a1", "restart a1", "fetch-kubeconfig s1",
        ])
    }

    @Test func aPendingRestartFromAKilledRunIsOwedEvenWhenFilesMatch() {
        var observations = converged(ha)
        modify(&observations, "s2") { $0.k3s.pendingRestart = "restart: to apply: config.yaml" }
        let plan = planner.plan(ha, observations: observations)
        #expect(summary(plan) == ["restart s2", "fetch-kubeconfig s1"])
        #expect(plan.actions[0].reason.contains("interrupted run"))
    }

    @Test func aServiceLeftDisabledIsEnabledAgain() {
        var observations = converged(ha)
        modify(&observations, "s3") { $0.k3s.serviceEnabled = false }
        let plan = planner.plan(ha, observations: observations)
        #expect(summary(plan) == ["write-service s3", "fetch-kubeconfig s1"])
    }
}
