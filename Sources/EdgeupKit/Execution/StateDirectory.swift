import Foundation

/// Where edgeup keeps what it knows between runs: run folders (journal, per-host logs) and the last
/// known state of every store, so `edgeup status` answers without connecting.
public struct StateDirectory: Sendable, Hashable {
    public var path: String

    public init(path: String) {
        self.path = path
    }

    /// `$EDGEUP_STATE_DIR`, else `$XDG_STATE_HOME/edgeup`, else `~/.local/state/edgeup`.
    public static func standard(environment: [String: String], home: String) -> StateDirectory {
        if let explicit = environment["EDGEUP_STATE_DIR"], !explicit.isEmpty { return StateDirectory(path: explicit) }
        if let xdg = environment["XDG_STATE_HOME"], !xdg.isEmpty { return StateDirectory(path: xdg + "/edgeup") }
        return StateDirectory(path: home + "/.local/state/edgeup")
    }

    public var runsFolder: String { path + "/runs" }
    public var storesFolder: String { path + "/stores" }

    public func runFolder(_ run: String) -> String { runsFolder + "/" + run }

    /// The last recorded state of each store, by name (stores never run are absent).
    public func storeStates() throws -> [String: StoreState] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: storesFolder)) ?? []
        var states: [String: StoreState] = [:]
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        for file in files where file.hasSuffix(".json") {
            let data = try Data(contentsOf: URL(fileURLWithPath: storesFolder + "/" + file))
            let state = try decoder.decode(StoreState.self, from: data)
            states[state.store] = state
        }
        return states
    }
}

/// What the last run that touched a store left it as.
public struct StoreState: Sendable, Hashable, Codable {
    public enum Outcome: String, Sendable, Codable {
        case converged
        case failed
        case blocked
        /// `edgeup reset` removed k3s and edgeup's files from every host.
        case reset
    }

    public var store: String
    public var run: String
    public var finishedAt: Date
    public var outcome: Outcome
    public var message: String?
    /// The actions that run completed on the store, in order (`install on pi-042`).
    public var actionsDone: [String]

    public init(store: String, run: String, finishedAt: Date, outcome: Outcome, message: String?, actionsDone: [String]) {
        self.store = store
        self.run = run
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.message = message
        self.actionsDone = actionsDone
    }
}
