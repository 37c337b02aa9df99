import EdgeupKit
import Foundation
import Testing

@Suite struct StoreTimingTests {
    func event(_ kind: RunEvent.Kind, _ store: String?, at seconds: Double) -> RunEvent {
        RunEvent(kind, run: "r", store: store, time: Date(timeIntervalSince1970: seconds))
    }

    @Test func eachStoreTakesFromItsStartToItsFinish() {
        let timing = StoreTiming()
        for event in [
            event(.runStarted, nil, at: 0), event(.storeStarted, "a", at: 10), event(.storeStarted, "b", at: 11),
            event(.stepStarted, "a", at: 12), event(.storeFinished, "b", at: 14.5), event(.storeFinished, "a", at: 40),
            event(.runFinished, nil, at: 41),
        ] {
            timing.record(event)
        }
        #expect(timing.seconds == ["a": 30, "b": 3.5])
    }

    @Test func aStoreFinishedWithoutStartingTookNoTime() {
        let timing = StoreTiming()
        timing.record(event(.storeFinished, "c", at: 5))
        timing.record(event(.storeStarted, "d", at: 5))
        #expect(timing.seconds == ["c": 0], "a store still running has no time yet")
    }
}
