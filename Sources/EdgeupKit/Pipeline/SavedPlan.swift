import Foundation

/// A plan saved by `plan --out` for `apply --plan`: it applies only to the inventory and facts it
/// was made from.
public enum SavedPlan {
    /// Writes `plan` as JSON (facts and hashes from every host: private, like the journal).
    public static func write(_ plan: Plan, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        try PrivateFile.write(try encoder.encode(plan), to: path)
    }

    /// Reads the plan at `path` and checks it against the one made just now.
    public static func check(_ path: String, against fresh: Plan) throws(SavedPlanError) {
        try check(read(path), from: path, against: fresh)
    }

    public static func read(_ path: String) throws(SavedPlanError) -> Plan {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(Plan.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
    }

    /// Refuses `saved` (read from `path`) unless it has this schema, this inventory, the facts each
    /// store has now and the playbook units as they render now.
    public static func check(_ saved: Plan, from path: String, against fresh: Plan) throws(SavedPlanError) {
        guard saved.schemaVersion == Plan.schemaVersion else {
            throw .wrongSchema(path: path, found: saved.schemaVersion)
        }
        guard saved.inventoryFingerprint == fresh.inventoryFingerprint else {
            throw .differentInventory(path: path)
        }
        let now = Dictionary(uniqueKeysWithValues: fresh.stores.map { ($0.store, $0) })
        let stale = saved.stores.filter { now[$0.store]?.factsFingerprint != $0.factsFingerprint }.map(\.store.name)
        guard stale.isEmpty, saved.stores.count == fresh.stores.count else {
            throw .staleFacts(path: path, stores: stale)
        }
        func units(_ plan: StorePlan?) -> [String] {
            (plan?.actions ?? []).compactMap { action in action.unit.map { "\(action.host ?? "") \($0.id) \($0.sha256)" } }
                .sorted()
        }
        let changed = saved.stores.filter { units($0) != units(now[$0.store]) }.map(\.store.name)
        guard changed.isEmpty else {
            throw .playbooksChanged(path: path, stores: changed)
        }
    }
}
