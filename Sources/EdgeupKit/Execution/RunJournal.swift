import Foundation

/// The record of one run: every event appended to `journal.jsonl` as it happens (so a killed run
/// leaves an accurate trail), remote output per host in `hosts/<store>/<host>.log`, and each
/// store's final state written atomically to the state directory when the store finishes. All of
/// it is remote output: files 0600, folders 0700 (`PrivateFile`).
/// Writes are synchronous and ordered (a lock, not an actor), so the journal's line order is the
/// order events happened in, and nothing is pending when the process is killed.
public final class RunJournal: @unchecked Sendable {
    public let run: String
    public let state: StateDirectory
    private let lock = NSLock()
    private let journal: FileHandle
    private var hostLogs: [String: FileHandle] = [:]

    /// Run IDs sort by time and stay unique across concurrent runs: `20261121T101500Z-3f9a`.
    public static func newRunID(now: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let suffix = String(UInt16.random(in: .min ... .max), radix: 16)
        return formatter.string(from: now) + "-" + String(repeating: "0", count: 4 - suffix.count) + suffix
    }

    public init(state: StateDirectory, run: String = RunJournal.newRunID()) throws {
        self.run = run
        self.state = state
        let folder = state.runFolder(run)
        try PrivateFile.createFolders(state.runsFolder, tighten: true)
        try PrivateFile.createFolders(folder, tighten: true)
        journal = try PrivateFile.appending(folder + "/journal.jsonl")
    }

    public func record(_ event: RunEvent) {
        lock.withLock { journal.write(Data((event.jsonLine + "\n").utf8)) }
    }

    /// Appends remote output to the host's log in the run folder.
    public func log(store: String, host: String, _ text: String) {
        lock.withLock {
            let key = store + "/" + host
            if hostLogs[key] == nil {
                let hosts = state.runFolder(run) + "/hosts"
                let folder = hosts + "/" + store
                try? PrivateFile.createFolders(hosts, tighten: true)
                try? PrivateFile.createFolders(folder, tighten: true)
                hostLogs[key] = try? PrivateFile.appending(folder + "/" + host + ".log")
            }
            hostLogs[key]?.write(Data(text.utf8))
        }
    }

    public func storeFinished(_ storeState: StoreState) throws {
        let folder = state.storesFolder
        try PrivateFile.createFolders(folder, tighten: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        // Written to a temp file and renamed: a crash never leaves a half-written state.
        try PrivateFile.write(try encoder.encode(storeState), to: folder + "/" + storeState.store + ".json")
    }

    public func close() {
        lock.withLock {
            try? journal.close()
            for handle in hostLogs.values { try? handle.close() }
            hostLogs = [:]
        }
    }
}
