import Foundation

/// A value guarded by a lock, for the little state shared with the reactor thread or callbacks.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// A counting semaphore for async code; waiting is cancellable and first-come first-served.
final class AsyncLimiter: Sendable {
    private struct State {
        var available: Int
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextID: UInt64 = 0
    }

    private let state: Locked<State>

    init(limit: Int) { state = Locked(State(available: max(1, limit))) }

    /// Returns false when the task was cancelled before a permit came free.
    func acquire() async -> Bool {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate = state.withLock { s -> Bool? in
                    if Task.isCancelled { return false }
                    if s.available > 0 {
                        s.available -= 1
                        return true
                    }
                    s.waiters.append((id, continuation))
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let continuation = state.withLock { s -> CheckedContinuation<Bool, Never>? in
                guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.waiters.remove(at: index).continuation
            }
            continuation?.resume(returning: false)
        }
    }

    func release() {
        let next = state.withLock { s -> CheckedContinuation<Bool, Never>? in
            if s.waiters.isEmpty {
                s.available += 1
                return nil
            }
            return s.waiters.removeFirst().continuation
        }
        next?.resume(returning: true)
    }
}

extension Duration {
    /// The duration in seconds, for messages and reports.
    public var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}

/// OS errno as text, for messages.
func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

/// Sets O_NONBLOCK and FD_CLOEXEC (the latter so spawned `ssh` processes never inherit our sockets).
func makeNonBlockingCloseOnExec(_ fd: Int32) {
    let flags = fcntl(fd, F_GETFL)
    _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
}

/// A descriptor the reactor may be waiting on, closed exactly once (by whichever task gets there
/// first): waiters are released before the number can be reused.
final class WatchedDescriptor: Sendable {
    let fd: Int32
    let reactor: Reactor
    private let closed = Locked(false)

    init(_ fd: Int32, reactor: Reactor) {
        self.fd = fd
        self.reactor = reactor
    }

    deinit { close() }

    var isClosed: Bool { closed.withLock { $0 } }

    /// `shutdown(2)` while still open, then wakes the waiters to see it.
    func shutdown(_ how: Int32) {
        closed.withLock { isClosed in
            if !isClosed { _ = Foundation.shutdown(fd, how) }
        }
        reactor.wake(fd: fd)
    }

    func close() {
        let wasOpen = closed.withLock { isClosed in
            defer { isClosed = true }
            return !isClosed
        }
        guard wasOpen else { return }
        reactor.forget(fd: fd)
        Foundation.close(fd)
    }
}
