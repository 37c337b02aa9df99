import EdgeupKit
import Foundation
import Testing

@Suite struct ProgressAndStatusTests {
    @Test func progressCountsAndRenders() {
        let start = Date(timeIntervalSince1970: 0)
        var progress = RunProgress(total: 4, startedAt: start)
        progress.apply(RunEvent(.storeStarted, run: "r", store: "a"))
        progress.apply(RunEvent(.stepStarted, run: "r", store: "a", host: "pi", action: .install))
        progress.apply(RunEvent(.storeStarted, run: "r", store: "b"))
        progress.apply(RunEvent(.storeFinished, run: "r", store: "b", outcome: .ok))
        progress.apply(RunEvent(.storeStarted, run: "r", store: "c"))
        progress.apply(RunEvent(.storeFinished, run: "r", store: "c", outcome: .failed))
        #expect(progress.done == 1 && progress.failed == 1 && progress.remaining == 2)
        let text = progress.render(now: start.addingTimeInterval(20), width: 8)
        #expect(text == "[####----] 2/4 · 1 converged · 1 failed · 2 left · ETA 20s\n  a: pi install")
    }

    @Test func statusFromJournal() throws {
        let inventory = try load("stores:\n  - {name: a, hosts: [{address: 10.0.0.1, role: server}]}\n  - {name: b, hosts: [{address: 10.0.0.2, role: server}]}\n").get()
        let state = StoreState(
            store: "a", run: "r1", finishedAt: Date(timeIntervalSince1970: 0), outcome: .failed,
            message: "pi: start: k3s failed\nmore", actionsDone: [])
        let rows = StoreStatus.fromJournal(inventory.stores, states: ["a": state])
        #expect(rows == [
            StoreStatus(store: "a", state: "failed", run: "r1", when: Date(timeIntervalSince1970: 0), detail: "pi: start: k3s failed"),
            StoreStatus(store: "b", state: "never"),
        ])
        let table = StatusTable.render(rows, style: TerminalStyle(colors: false))
        #expect(table == """
            STORE  STATE   WHEN                  RUN  DETAIL
            a      failed  1970-01-01T00:00:00Z  r1   pi: start: k3s failed
            b      never   -                     -    
            1 failed, 1 never

            """)
    }
}
