import EdgeupKit
import Foundation
import Testing

/// Local files holding remote output or hashes are the operator's alone: 0600, folders 0700, and
/// files left wider by an older edgeup tightened when written again.
@Suite struct PrivateFileTests {
    @Test func theJournalHostLogsAndStoreStatesArePrivate() throws {
        let folder = try TemporaryFolder()
        let state = StateDirectory(path: folder.path + "/state")
        let journal = try RunJournal(state: state, run: "r1")
        journal.record(RunEvent(.storeStarted, run: "r1", store: "s1"))
        journal.log(store: "s1", host: "pi", "remote output\n")
        try journal.storeFinished(StoreState(
            store: "s1", run: "r1", finishedAt: Date(), outcome: .converged, message: nil, actionsDone: []))
        journal.close()

        for file in ["runs/r1/journal.jsonl", "runs/r1/hosts/s1/pi.log", "stores/s1.json"] {
            #expect(try mode(state.path + "/" + file) == 0o600, "\(file)")
        }
        for created in ["", "/runs", "/runs/r1", "/runs/r1/hosts", "/runs/r1/hosts/s1", "/stores"] {
            #expect(try mode(state.path + created) == 0o700, "state\(created)")
        }
    }

    @Test func filesAndFoldersAnOlderEdgeupLeftWideAreTightened() throws {
        let folder = try TemporaryFolder()
        let state = StateDirectory(path: folder.path)
        let wide: [(String, Int)] = [
            ("stores", 0o755), ("runs", 0o755), ("runs/r1", 0o755), ("runs/r1/hosts", 0o755), ("runs/r1/hosts/s1", 0o755),
        ]
        for (path, permissions) in wide {
            try FileManager.default.createDirectory(
                atPath: folder.path + "/" + path, withIntermediateDirectories: true,
                attributes: [.posixPermissions: permissions])
        }
        for file in ["stores/s1.json", "runs/r1/journal.jsonl", "runs/r1/hosts/s1/pi.log"] {
            #expect(FileManager.default.createFile(
                atPath: folder.path + "/" + file, contents: Data("{}".utf8), attributes: [.posixPermissions: 0o644]))
        }
        let journal = try RunJournal(state: state, run: "r1")
        journal.record(RunEvent(.storeStarted, run: "r1", store: "s1"))
        journal.log(store: "s1", host: "pi", "more\n")
        try journal.storeFinished(StoreState(
            store: "s1", run: "r1", finishedAt: Date(), outcome: .failed, message: "x", actionsDone: []))
        journal.close()
        for file in ["stores/s1.json", "runs/r1/journal.jsonl", "runs/r1/hosts/s1/pi.log"] {
            #expect(try mode(folder.path + "/" + file) == 0o600, "\(file)")
        }
        for (path, _) in wide {
            #expect(try mode(folder.path + "/" + path) == 0o700, "\(path)")
        }
        #expect(try contents(folder.path + "/runs/r1/hosts/s1/pi.log") == "{}more\n", "appended, not replaced")
    }

    @Test func writeReplacesAtomicallyTightensAndKeepsASymlink() throws {
        let folder = try TemporaryFolder()
        let real = folder.path + "/real.json"
        #expect(FileManager.default.createFile(atPath: real, contents: Data("old".utf8), attributes: [.posixPermissions: 0o644]))
        try FileManager.default.createSymbolicLink(atPath: folder.path + "/plan.json", withDestinationPath: real)
        try PrivateFile.write(Data("new".utf8), to: folder.path + "/plan.json")
        #expect(try contents(real) == "new")
        #expect(try mode(real) == 0o600)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: folder.path + "/plan.json") == real)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["plan.json", "real.json"])
        #expect(throws: PrivateFileError.self) { try PrivateFile.write(Data(), to: folder.path + "/missing/x.json") }
    }
}
