@testable import EdgeupKit
import Foundation
import Testing

@Suite struct StoreLockTests {
    @Test func aLockOfAKilledEdgeupOnThisMachineIsStale() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let gone = "someone@\(StoreLock.localMachine) pid \(child.processIdentifier)"
        #expect(StoreLock.isDeadLocalRun(owner: gone))
        #expect(!StoreLock.isDeadLocalRun(owner: "someone@\(StoreLock.localMachine) pid \(getpid())"), "a live run")
        #expect(!StoreLock.isDeadLocalRun(owner: "someone@another-laptop pid \(child.processIdentifier)"), "another machine's")
        #expect(!StoreLock.isDeadLocalRun(owner: "garbage"))
    }

    @Test func theOwnerFieldIsOneUserAtMachineAndAPid() {
        let parts = StoreLock.localOwner.split(separator: " ")
        #expect(parts.count == 3 && parts[1] == "pid" && parts[2] == "\(getpid())")
        #expect(parts[0].split(separator: "@").count == 2)
    }
}
