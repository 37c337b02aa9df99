import EdgeupKit
import Foundation
import Testing

/// `apply --plan`: a saved plan applies only to the inventory, facts and playbooks it was made
/// from; each refusal keeps the message and exit status the CLI has always used.
@Suite struct SavedPlanTests {
    static let unit = UnitReference(id: "base/ns/ns.yaml", sha256: "aaaa")
    let plain = TerminalStyle(colors: false)

    func plan(_ stores: [StorePlan], inventory: String = "inv1") -> Plan {
        Plan(inventoryFiles: ["inv.yaml"], inventoryFingerprint: inventory, stores: stores, createdAt: Date(timeIntervalSince1970: 0))
    }

    func store(_ name: String, facts: String = "f1", unit: UnitReference? = unit) -> StorePlan {
        let actions = unit.map { [PlannedAction(.applyPlaybook, host: nil, reason: "\($0.id): not applied yet", unit: $0)] } ?? []
        return StorePlan(store: StoreID(name), actions: actions, problems: [], factsFingerprint: facts)
    }

    func refusal(_ saved: Plan, against fresh: Plan) -> SavedPlanError? {
        do throws(SavedPlanError) {
            try SavedPlan.check(saved, from: "plan.json", against: fresh)
            return nil
        } catch {
            return error
        }
    }

    @Test func theSamePlanIsAccepted() {
        let fresh = plan([store("a"), store("b")])
        #expect(refusal(plan([store("b"), store("a")]), against: fresh) == nil, "store order does not matter")
    }

    @Test func anotherSchemaIsRefusedWithExit2() throws {
        var saved = plan([store("a")])
        saved.schemaVersion = Plan.schemaVersion + 1
        let error = try #require(refusal(saved, against: plan([store("a")])))
        #expect(error == .wrongSchema(path: "plan.json", found: Plan.schemaVersion + 1))
        #expect(error.exitCode == 2)
        #expect(error.message(style: plain) == "edgeup: plan.json uses plan schema \(Plan.schemaVersion + 1); this edgeup reads \(Plan.schemaVersion). Plan again.")
    }

    @Test func anotherInventoryIsRefusedWithExit1() throws {
        let error = try #require(refusal(plan([store("a")], inventory: "old"), against: plan([store("a")])))
        #expect(error == .differentInventory(path: "plan.json"))
        #expect(error.exitCode == 1)
        #expect(error.message(style: plain) == "edgeup: the saved plan plan.json was made from a different inventory; plan again.")
    }

    @Test func changedFactsAreRefusedWithExit1() throws {
        let fresh = plan([store("a"), store("b", facts: "f2")])
        let error = try #require(refusal(plan([store("a"), store("b")]), against: fresh))
        #expect(error == .staleFacts(path: "plan.json", stores: ["b"]))
        #expect(error.exitCode == 1)
        #expect(error.message(style: plain) == "edgeup: the saved plan plan.json is stale: facts changed on b; plan again.")
        let missing = try #require(refusal(plan([store("a")]), against: fresh), "a plan for fewer stores is stale too")
        #expect(missing == .staleFacts(path: "plan.json", stores: []))
    }

    @Test func longListsNameTenStores() throws {
        let names = (1...12).map { "s\($0)" }
        let error = try #require(refusal(plan(names.map { store($0) }), against: plan(names.map { store($0, facts: "new") })))
        #expect(error.description == "the saved plan plan.json is stale: facts changed on s1, s2, s3, s4, s5, s6, s7, s8, s9, s10 and 2 more; plan again.")
    }

    @Test func playbooksRenderedDifferentlyAreRefusedWithExit1() throws {
        let changed = UnitReference(id: Self.unit.id, sha256: "bbbb")
        let error = try #require(refusal(plan([store("a"), store("b")]), against: plan([store("a"), store("b", unit: changed)])))
        #expect(error == .playbooksChanged(path: "plan.json", stores: ["b"]))
        #expect(error.exitCode == 1)
        #expect(error.message(style: plain) == "edgeup: the saved plan plan.json is stale: playbooks rendered differently for b; plan again.")
        let dropped = try #require(refusal(plan([store("a")]), against: plan([store("a", unit: nil)])))
        #expect(dropped == .playbooksChanged(path: "plan.json", stores: ["a"]))
    }

    @Test func anUnreadableFileIsRefusedWithExit2() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeup-saved-plan-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (missing, garbage) = (folder + "/missing.json", folder + "/garbage.json")
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: garbage))
        for path in [missing, garbage] {
            do throws(SavedPlanError) {
                _ = try SavedPlan.read(path)
                Issue.record("\(path) was read")
            } catch {
                guard case let .unreadable(reported, _) = error else { Issue.record("\(error)"); continue }
                #expect(reported == path)
                #expect(error.exitCode == 2)
                #expect(error.message(style: plain).hasPrefix("edgeup: cannot read the saved plan \(path): "))
            }
        }
    }

    @Test func aWrittenPlanReadsBackAndPasses() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeup-saved-plan-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var fresh = plan([store("a")])
        fresh.stores[0].problems = [PlanProblem(host: "pi", message: "unreachable: timeout", kind: .unreachable)]
        try SavedPlan.write(fresh, to: folder + "/plan.json")
        #expect(try SavedPlan.read(folder + "/plan.json") == fresh)
        try SavedPlan.check(folder + "/plan.json", against: fresh)
    }
}
