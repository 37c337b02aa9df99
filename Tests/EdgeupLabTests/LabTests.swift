import EdgeupTestSupport
import Foundation
import Testing

/// Every lab test, one at a time: each brings up a fleet of network namespaces and k3s doubles,
/// and two at once on 2 cores only measure the machine.
@Suite(.enabled(if: Lab.available, "needs root on Linux for the lab"), .serialized)
enum LabTests {}

/// Runs `body` on its own thread until `stop` is set: samplers and fault injectors must keep
/// running while the test's own task blocks on a child process.
func onThread(_ body: @escaping @Sendable (Flag) -> Void) -> (stop: Flag, done: Flag) {
    let stop = Flag()
    let done = Flag()
    Thread.detachNewThread {
        body(stop)
        done.set()
    }
    return (stop, done)
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }

    /// Waits until set (polling; for test teardown only).
    func wait() {
        while !isSet { usleep(10_000) }
    }
}

/// Lines a background thread leaves for the test's failure messages.
final class Transcript: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var text: String { lock.withLock { lines.joined(separator: "; ") } }
    func append(_ line: String) { lock.withLock { lines.append(line) } }
}
