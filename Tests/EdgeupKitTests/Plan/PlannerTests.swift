import EdgeupKit
import Testing

/// The planner's rules, checked from a converged baseline: perturb one fact, expect exactly the
/// actions (or problems) that fact calls for.
@Suite struct PlannerTests {
    static let binary = LocalArtifact(path: "/bundles/k3s", sha256: "b1", size: 70_000_000, architecture: .amd64)
    let planner = Planner(artifacts: LocalArtifacts(byPath: ["/bundles/k3s": binary]), kubeconfigContexts: ["ha", "one"])
    let inventory = try! load(("inv.yaml", """
        defaults:
          k3s: {version: v1.31.4+k3s1, binary: /bundles/k3s, config: {disable: [traefik], kubelet-arg: ["max-pods=60"]}}
        stores:
          - name: ha
            hosts:
              - {name: s1, address: 10.0.0.1, role: server}
              - {name: s2, address: 10.0.0.2, role: server}
              - {name: s3, address: 10.0.0.3, role: server}
              - {name: a1, address: 10.0.0.4, role: agent}
          - name: one
            hosts: [{name: pi, address: 10.1.0.1, role: server}]
        """)).get()
    var ha: Store { inventory.stores[0] }

    /// Facts of a host exactly as edgeup would leave it.
    func converged(_ store: Store) -> [HostID: HostObservation] {
        var result: [HostID: HostObservation] = [:]
        for host in store.hosts {
            let desired = HostDesiredState(
                host: host, store: store, mode: .upload(binary: Self.binary, images: []), initSystem: .systemd)
            let k3s = K3sFacts(
                version: desired.version, binarySHA256: Self.binary.sha256, configSHA256: desired.config.fingerprint,
                configKeys: desired.config.keyFingerprints,
                joinTokenFingerprint: store.isFirstServer(host) ? nil : host.role == .server ? "t0ken" : "ag3nt",
                serverTokenFingerprint: host.role == .server ? "t0ken" : nil,
                agentTokenFingerprint: host.role == .server ? "s3cret" : nil,
                agentJoinTokenFingerprint: host.role == .server ? "ag3nt" : nil,
                serviceFilesSHA256: desired.serviceSHA256, serviceActive: true, serviceEnabled: true,
                scriptsSHA256: desired.scriptsSHA256, apiReady: host.role == .server,
                nodes: host.role == .server ? store.hosts.map { NodeFacts(name: $0.name, ready: true, roles: []) } : nil)
            result[host.id] = .observed(HostFacts(
                machine: "x86_64", architecture: .amd64, hostname: host.name, machineID: "id-\(host.name)",
                initSystem: .systemd, clock: 1000, clockOffset: 0.2, k3s: k3s, listeningPorts: [6443, 10250]))
        }
        return result
    }

    func bare(_ store: Store) -> [HostID: HostObservation] {
        converged(store).mapValues { observation in
            guard case var .observed(facts) = observation else { return observation }
            facts.k3s = K3sFacts()
            facts.listeningPorts = []
            return .observed(facts)
        }
    }

    func modify(_ observations: inout [HostID: HostObservation], _ host: HostID, _ change: (inout HostFacts) -> Void) {
        guard case var .observed(facts) = observations[host] else { return }
        change(&facts)
        observations[host] = .observed(facts)
    }

    func summary(_ plan: StorePlan) -> [String] {
        plan.actions.map { "\($0.kind.rawValue) \($0.host ?? "-")" }
    }

    @Test func convergedStoreHasNothingToDo() {
        let plan = planner.plan(ha, observations: converged(ha))
        #expect(plan.actions.isEmpty, "\(plan.actions)")
        #expect(plan.problems.isEmpty)
        #expect(plan.status == .converged)
    }

    @Test func newStoreInstallsInKubernetesOrder() {
        let plan = planner.plan(ha, observations: bare(ha))
        #expect(summary(plan) == [
            "install s1", "write-scripts s1", "write-service s1", "write-config s1", "write-agent-token s1", "start s1",
            "install s2", "write-scripts s2", "write-service s2", "write-config s2", "write-token s2", "write-agent-token s2", "start s2",
            "install s3", "write-scripts s3", "write-service s3", "write-config s3", "write-token s3", "write-agent-token s3", "start s3",
            "install a1", "write-scripts a1", "write-service a1", "write-config a1", "write-token a1", "start a1",
            "fetch-kubeconfig s1",
        ])
        #expect(plan.actions[0].reason == "v1.31.4+k3s1, uploaded (air gap)")
        #expect(plan.actions[4].reason == "no agent token yet: edgeup generates one")
        #expect(plan.actions[5].reason == "initialise the cluster (embedded etcd)")
        #expect(plan.actions[12].reason == "join as a server")
        #expect(plan.actions[10].reason == "read from the first server once it is up")
        #expect(plan.actions[11].reason == "agent token missing: copied from the first server")
        #expect(plan.actions[25].reason == "join as an agent")
        #expect(plan.status == .changes)
    }

    @Test func configChangeRestartsOnlyAffectedNodes() throws {
        var changed = ha
        changed.k3s.config = ConfigValue.merge(changed.k3s.config, [ConfigEntry("disable", .list([.string("traefik"), .string("servicelb")]))])
        let plan = planner.plan(changed, observations: converged(ha))
        #expect(summary(plan) == [
            "write-config s1", "restart s1", "write-config s2", "restart s2", "write-config s3", "restart s3",
            "fetch-kubeconfig s1",
        ], "agents do not take 'disable', so they are untouched")
        #expect(plan.actions[0].reason == "config.yaml differs: disable")
        #expect(plan.actions[1].reason == "to apply: config.yaml")
    }

    @Test func newBinaryUpgradesAndRestarts() {
        var observations = converged(ha)
        modify(&observations, "a1") { $0.k3s.binarySHA256 = "old"; $0.k3s.version = K3sVersion("v1.30.4+k3s1") }
        let plan = planner.plan(ha, observations: observations)
        #expect(summary(plan) == ["stage-binary a1", "upgrade a1", "restart a1", "fetch-kubeconfig s1"])
        #expect(plan.actions[0].reason == "v1.31.4+k3s1 to /usr/local/bin/k3s.edgeup-staged, before any node restarts")
        #expect(plan.actions[1].reason == "v1.30.4+k3s1 → v1.31.4+k3s1 (continuing an upgrade begun earlier, no edgeup snapshot found)",
                "the servers already run the target: no new snapshot mid-way")
        #expect(plan.actions[2].reason == "to apply: new binary")
    }

    @Test func stoppedServiceStartsAndLostNodeRestarts() {
        var observations = converged(ha)
        modify(&observations, "s2") { $0.k3s.serviceActive = false; $0.listeningPorts = [] }
        modify(&observations, "s1") { $0.k3s.nodes?.removeAll { $0.name == "a1" } }
        let plan = planner.plan(ha, observations: observations)
        #expect(summary(plan) == ["start s2", "restart a1", "fetch-kubeconfig s1"])
        #expect(plan.actions[0].reason == "service is not running")
        #expect(plan.actions[1].reason == "node 'a1' is not registered in the cluster")
    }

    @Test func joinTokenMismatchIsRewritten() {
        var observations = converged(ha)
        modify(&observations, "a1") { $0.k3s.joinTokenFingerprint = "other" }
        let plan = planner.plan(ha, observations: observations)
        #expect(summary(plan) == ["write-token a1", "restart a1", "fetch-kubeconfig s1"])
        #expect(plan.actions[0].reason == "join token differs from the cluster's")
    }

    @Test func unreachableHostIsAProblemNotACrash() {
        var observations = bare(ha)
        observations["s3"] = .unreachable("connect: connection refused")
        let plan = planner.plan(ha, observations: observations)
        #expect(plan.status == .blocked)
        #expect(plan.problems == [PlanProblem(host: "s3", message: "unreachable: connect: connection refused", kind: .unreachable)])
        #expect(summary(plan).contains("start s1") && summary(plan).contains("start a1"), "the rest is still planned")
    }

    @Test func preflightProblems() {
        var observations = bare(ha)
        modify(&observations, "s1") { $0.listeningPorts = [6443] }
        modify(&observations, "s2") { $0.clockOffset = 95 }
        modify(&observations, "s3") { $0.machine = "aarch64"; $0.architecture = .arm64 }
        modify(&observations, "a1") { $0.hasDefaultRoute = false }
        let plan = planner.plan(ha, observations: observations)
        let messages = plan.problems.map(\.description)
        #expect(messages.count == 4, "\(messages)")
        #expect(messages.contains { $0.hasPrefix("s1: port 6443 already in use while k3s is not running") })
        #expect(messages.contains { $0.hasPrefix("s2: clock differs from the first server by 95 s") })
        #expect(messages.contains { $0.hasPrefix("s3: /bundles/k3s is built for amd64 but the host is arm64 (aarch64)") })
        #expect(messages.contains { $0.hasPrefix("a1: the host has no default route") })
        #expect(!summary(plan).contains { $0.hasSuffix(" s3") }, "a blocked host gets no actions")
    }

    @Test func clonedImagesAndDuplicateHostnames() throws {
        let anonymous = try load("stores:\n  - {name: x, hosts: [{address: 10.0.0.1, role: server}, {address: 10.0.0.2, role: agent}, {address: 10.0.0.3, role: agent}]}\n").get().stores[0]
        var observations = converged(anonymous)
        modify(&observations, "10.0.0.2") { $0.hostname = "raspberrypi"; $0.machineID = "same" }
        modify(&observations, "10.0.0.3") { $0.hostname = "raspberrypi"; $0.machineID = "same" }
        let problems = planner.plan(anonymous, observations: observations).problems.map(\.description)
        #expect(problems.contains { $0.hasPrefix("10.0.0.3: would register as node 'raspberrypi', like 10.0.0.2") })
        #expect(problems.contains { $0.hasPrefix("10.0.0.3: has the same machine-id as 10.0.0.2") })
    }

    @Test func missingKubeconfigContextIsFetched() {
        let withoutContexts = Planner(artifacts: planner.artifacts, kubeconfigContexts: ["ha"])
        let one = inventory.stores[1]
        let plan = withoutContexts.plan(one, observations: converged(one))
        #expect(summary(plan) == ["fetch-kubeconfig pi"])
        #expect(plan.actions[0].reason == "context one is not in your kubeconfig")
    }

    @Test func installerModeWithoutBinary() throws {
        var store = inventory.stores[1]
        store.k3s.binary = nil
        let plan = planner.plan(store, observations: bare(store))
        #expect(summary(plan) == ["install pi", "write-config pi", "write-agent-token pi", "start pi", "fetch-kubeconfig pi"])
        #expect(plan.actions[0].reason == "v1.31.4+k3s1 with the k3s installer")
    }

    @Test func factsFingerprintIgnoresClocks() {
        var observations = converged(ha)
        let before = planner.plan(ha, observations: observations).factsFingerprint
        modify(&observations, "s1") { $0.clock = 99_999; $0.clockOffset = 3 }
        #expect(planner.plan(ha, observations: observations).factsFingerprint == before)
        modify(&observations, "s1") { $0.k3s.serviceActive = false }
        #expect(planner.plan(ha, observations: observations).factsFingerprint != before)
    }
}
