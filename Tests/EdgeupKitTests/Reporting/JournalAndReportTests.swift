import EdgeupKit
import Foundation
import Testing

@Suite struct JournalAndReportTests {
    func temporaryFolder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("edgeup-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func journalAppendsEventsLogsAndStoreStates() throws {
        let state = StateDirectory(path: try temporaryFolder())
        let journal = try RunJournal(state: state, run: "r1")
        journal.record(RunEvent(.storeStarted, run: "r1", store: "s1"))
        journal.record(RunEvent(.stepFinished, run: "r1", store: "s1", host: "pi", action: .start, outcome: .changed))
        journal.log(store: "s1", host: "pi", "line 1\n")
        journal.log(store: "s1", host: "pi", "line 2\n")
        let done = StoreState(
            store: "s1", run: "r1", finishedAt: Date(timeIntervalSince1970: 1_700_000_000), outcome: .converged,
            message: nil, actionsDone: ["start on pi"])
        try journal.storeFinished(done)
        journal.close()

        let lines = try String(contentsOfFile: state.runFolder("r1") + "/journal.jsonl", encoding: .utf8)
            .split(separator: "\n")
        #expect(lines.count == 2)
        let second = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any]
        #expect(second?["kind"] as? String == "step-finished")
        #expect(second?["action"] as? String == "start")
        #expect(try String(contentsOfFile: state.runFolder("r1") + "/hosts/s1/pi.log", encoding: .utf8) == "line 1\nline 2\n")
        #expect(try state.storeStates() == ["s1": done])
        let attributes = try FileManager.default.attributesOfItem(atPath: state.runFolder("r1") + "/journal.jsonl")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test func runIDsSortByTime() {
        let early = RunJournal.newRunID(now: Date(timeIntervalSince1970: 1_700_000_000))
        let late = RunJournal.newRunID(now: Date(timeIntervalSince1970: 1_700_000_060))
        #expect(early.hasPrefix("20231114T221320Z-"))
        #expect(early < late)
    }

    @Test func stateDirectoryLocation() {
        #expect(StateDirectory.standard(environment: ["EDGEUP_STATE_DIR": "/s"], home: "/h").path == "/s")
        #expect(StateDirectory.standard(environment: ["XDG_STATE_HOME": "/x"], home: "/h").path == "/x/edgeup")
        #expect(StateDirectory.standard(environment: [:], home: "/h").path == "/h/.local/state/edgeup")
    }

    @Test func plainAndJSONLines() throws {
        let event = RunEvent(
            .stepFinished, run: "r1", store: "s1", host: "pi", action: .writeConfig, outcome: .failed,
            message: "exit 1", time: Date(timeIntervalSince1970: 0))
        #expect(event.plainLine == "1970-01-01T00:00:00Z s1/pi write-config: failed exit 1")
        #expect(!event.jsonLine.contains("\n"))
        #expect(event.jsonLine.contains("\"time\":\"1970-01-01T00:00:00.000Z\""), "milliseconds: restart windows are measured from these")
    }

    @Test func junitHasOneCasePerStore() throws {
        let report = JUnitReport(name: "edgeup apply", results: [
            .init(store: "a", status: .converged, seconds: 1.5),
            .init(store: "b", status: .failed("pi-b: start: k3s exited: \"token\" <mismatch>"), seconds: 2, log: "tail\u{1B}[0m"),
            .init(store: "c", status: .notStarted("failure budget exhausted"), seconds: 0),
        ])
        let xml = report.xml
        #expect(xml.contains(#"<testsuites name="edgeup apply" tests="3" failures="1" skipped="1" time="3.500">"#))
        #expect(xml.contains(#"<testcase classname="edgeup.store" name="a" time="1.500"/>"#))
        #expect(xml.contains(#"<failure message="pi-b: start: k3s exited: &quot;token&quot; &lt;mismatch&gt;">tail[0m</failure>"#))
        #expect(xml.contains(#"<skipped message="failure budget exhausted"/>"#))
        // Well-formed: Foundation's XML parser accepts it.
        #expect(XMLParserDelegateCheck.parses(xml))
    }

    @Test func theSummaryNamesEachUpgradeSnapshot() {
        var upgraded = StoreOutcome(store: "store-b", result: .converged)
        upgraded.snapshot = "edgeup-pre-v1-32-1-k3s1-20261203t101500z-3f9a-s1-1764756900"
        let result = RolloutResult(outcomes: [StoreOutcome(store: "store-a", result: .unchanged), upgraded], notStarted: [:])
        let text = ApplySummary(result: result, style: TerminalStyle(colors: false)).text
        #expect(text.contains("Snapshots taken before upgrading (on each store's first server):\n  store-b: \(upgraded.snapshot!)\n"))
        #expect(!text.contains("store-a:"))
    }
}

#if canImport(FoundationXML)
import FoundationXML
#endif

enum XMLParserDelegateCheck {
    static func parses(_ xml: String) -> Bool {
        XMLParser(data: Data(xml.utf8)).parse()
    }
}
