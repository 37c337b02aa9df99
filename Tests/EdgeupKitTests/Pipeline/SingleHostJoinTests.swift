import EdgeupKit
import Foundation
import Testing

/// `edgeup join` works on the joining machine only: the request names it, and the plan keeps only
/// its actions, its problems and other hosts being unreachable, decided by the problem's kind.
@Suite struct SingleHostJoinTests {
    let loader = InventoryLoader(homeDirectory: "/home/op", currentDirectory: "/work", fileExists: { _ in true })
    let request = SingleHostRequest(host: "10.0.0.7", user: "pi", context: "shop")

    @Test func theJoinNamesTheJoiningMachine() throws {
        for asServer in [false, true] {
            let loaded = request.joinInventory(serverHost: "10.0.0.5", serverUser: nil, asServer: asServer, loader: loader)
            let store = try #require(loaded.inventory?.stores.first)
            let joiner = try #require(loaded.joiner)
            #expect(store.hosts.first { $0.name == joiner }?.address == "10.0.0.7", "asServer: \(asServer)")
            #expect(store.firstServer?.name != joiner)
        }
        #expect(request.installInventory(cluster: false, loader: loader).joiner == nil, "install works on the whole store")
        let invalid = SingleHostRequest(host: "10.0.0.0/24", user: "pi")
        #expect(invalid.joinInventory(serverHost: "10.0.0.5", serverUser: nil, asServer: false, loader: loader).joiner == nil)
    }

    @Test func thePlannerTypesUnreachableAndMissingHosts() throws {
        let loaded = request.joinInventory(serverHost: "10.0.0.5", serverUser: nil, asServer: false, loader: loader)
        let (inventory, joiner) = (try loaded.get(), try #require(loaded.joiner))
        let store = inventory.stores[0]
        let server = try #require(store.firstServer?.id)
        let plan = Planner(artifacts: LocalArtifacts(byPath: [:]))
            .plan(store, observations: [server: .unreachable("connect: connection refused")])
        #expect(plan.problems.map(\.kind) == [.unreachable, .noFacts])
        #expect(plan.problems.map(\.host) == [server, HostID(joiner)])
    }

    @Test func theJoinKeepsOnlyTheJoinersWork() throws {
        let store = try request.joinInventory(serverHost: "10.0.0.5", serverUser: nil, asServer: false, loader: loader).get()
            .stores[0]
        let storePlan = StorePlan(
            store: "shop",
            actions: [
                PlannedAction(.writeConfig, host: "server", reason: "config.yaml differs"),
                PlannedAction(.install, host: "joiner", reason: "v1.31.4+k3s1"),
                PlannedAction(.start, host: "joiner", reason: "join the cluster"),
                PlannedAction(.fetchKubeconfig, host: "server", reason: "after changes"),
            ],
            problems: [
                PlanProblem(host: "server", message: "port 6443 already in use while k3s is not running"),
                // Worded like an unreachable host, but a check: only the kind decides.
                PlanProblem(host: "server", message: "unreachable: wording is not the kind"),
                PlanProblem(host: "other", message: "connect: timeout", kind: .unreachable),
                PlanProblem(host: "joiner", message: "clock differs from the first server by 40 s"),
            ],
            factsFingerprint: "f")
        let plan = ExecutablePlan(inventoryFiles: [], inventoryFingerprint: "", stores: [StoreWork(
            store: store, plan: storePlan, hosts: [:], playbooks: StorePlaybooks(store: store.name, units: []))])
        let limited = plan.limited(toJoiner: "joiner").stores[0].plan
        #expect(limited.actions.map(\.kind) == [.install, .start])
        #expect(limited.problems.map(\.message) == ["connect: timeout", "clock differs from the first server by 40 s"])
        #expect(limited.factsFingerprint == "f")
    }

    @Test func problemsKeepTheirKindInJSONAndOldPlansStillRead() throws {
        let problem = PlanProblem(host: "pi", message: "unreachable: timeout", kind: .unreachable)
        let json = try JSONEncoder().encode(problem)
        #expect(String(decoding: json, as: UTF8.self).contains("\"kind\":\"unreachable\""))
        #expect(try JSONDecoder().decode(PlanProblem.self, from: json) == problem)
        let old = try JSONDecoder().decode(PlanProblem.self, from: Data(#"{"host": "pi", "message": "m", "hint": null}"#.utf8))
        #expect(old == PlanProblem(host: "pi", message: "m", kind: .check))
    }
}
