import EdgeupKit
import Testing

@Suite struct StoreSelectionTests {
    let inventory: Inventory = {
        var text = "stores:\n"
        for i in 1...30 {
            let region = i % 3 == 0 ? "us" : "eu"
            text += "  - {name: store-\(String(format: "%03d", i)), labels: {region: \(region)}, hosts: "
            text += "[{address: 10.0.\(i).1, role: server}, {address: 10.0.\(i).2, role: agent}]}\n"
        }
        return try! load(text).get()
    }()

    @Test func globsAndSelectors() {
        #expect(StoreSelection(storeGlobs: ["store-00*"]).apply(to: inventory).count == 9)
        #expect(StoreSelection(storeGlobs: ["store-00[1-3]", "store-030"]).apply(to: inventory).map(\.name)
            == ["store-001", "store-002", "store-003", "store-030"])
        let us = StoreSelection(selectors: [LabelSelector(parsing: "region=us")!]).apply(to: inventory)
        #expect(us.count == 10 && us.allSatisfy { $0.labels["region"] == "us" })
        #expect(StoreSelection(selectors: [LabelSelector(parsing: "region!=us")!]).apply(to: inventory).count == 20)
        #expect(StoreSelection(selectors: [LabelSelector(parsing: "tier")!]).apply(to: inventory).isEmpty)
    }

    @Test func roleKeepsOnlyThoseHosts() {
        let agents = StoreSelection(role: .agent).apply(to: inventory)
        #expect(agents.count == 30)
        #expect(agents.allSatisfy { $0.hosts.count == 1 && $0.hosts[0].role == .agent })
    }

    @Test func shardsCoverEveryStoreExactlyOnce() {
        var seen: [String] = []
        for index in 1...4 {
            let part = StoreSelection(shard: Shard(index: index, count: 4)).apply(to: inventory)
            #expect((7...8).contains(part.count), "shards are balanced")
            seen += part.map(\.name)
        }
        #expect(seen.sorted() == inventory.stores.map(\.name).sorted())
        #expect(Set(seen).count == seen.count)
    }

    @Test func shardParsing() {
        #expect(Shard(parsing: "2/3") == Shard(index: 2, count: 3))
        #expect(Shard(parsing: "0/3") == nil)
        #expect(Shard(parsing: "4/3") == nil)
        #expect(Shard(parsing: "x") == nil)
        #expect(LabelSelector(parsing: "=x") == nil)
    }
}
