import EdgeupKit
import Testing

@Suite struct PlanTextTests {
    func store(_ name: String, _ actions: [(ActionKind, String, String)], problems: [PlanProblem] = []) -> StorePlan {
        StorePlan(
            store: StoreID(name), actions: actions.map { PlannedAction($0.0, host: HostID($0.1), reason: $0.2) }, problems: problems,
            factsFingerprint: "f")
    }

    @Test func groupsStoresThatNeedTheSameThing() {
        var stores = (1...12).map { i in
            store("shop-\(i)", [(.install, "pi-\(i)", "v1.31.4+k3s1, uploaded (air gap)"), (.start, "pi-\(i)", "start the cluster (SQLite)")])
        }
        stores.append(store("flagship", [(.writeConfig, "nuc-1", "config.yaml differs: disable"), (.restart, "nuc-1", "to apply: config.yaml")]))
        stores.append(store("quiet", []))
        stores.append(store("far", [], problems: [PlanProblem(host: "pi-far", message: "unreachable: timeout")]))
        let text = PlanText(style: TerminalStyle(colors: false)).render(Plan(inventoryFiles: ["f.yaml"], stores: stores))
        #expect(text.hasPrefix("Plan: 15 stores — 1 converged, 13 with changes, 1 blocked\n"))
        #expect(text.contains("Actions: install 12, write-config 1, start 12, restart 1\n"))
        #expect(text.contains("Blocked (1):\n  far: pi-far: unreachable: timeout\n"))
        #expect(text.contains("  12 stores (shop-1, shop-2, shop-3, shop-4, shop-5, shop-6, shop-7, shop-8, … +4 more)\n    install: v1.31.4+k3s1, uploaded (air gap)\n    start: start the cluster (SQLite)\n"))
        #expect(text.contains("  flagship\n    write-config nuc-1: config.yaml differs: disable\n    restart nuc-1: to apply: config.yaml\n"))
        #expect(!text.contains("Nothing to do"))
    }

    @Test func convergedFleetSaysSo() {
        let text = PlanText(style: TerminalStyle(colors: false)).render(Plan(inventoryFiles: [], stores: [store("a", [])]))
        #expect(text == "Plan: 1 store — 1 converged, 0 with changes, 0 blocked\nNothing to do: every store matches the inventory.\n")
    }
}
