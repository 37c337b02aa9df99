import Foundation
#if os(Linux)
import CLibSSH2
#endif

/// What a waiter wants from a file descriptor.
struct IOEvents: OptionSet, Sendable {
    let rawValue: UInt32
    static let readable = IOEvents(rawValue: 1)
    static let writable = IOEvents(rawValue: 2)
}

enum WaitResult: Sendable { case ready, timedOut, cancelled }

/// The OS seam of the event loop: one-shot readiness interest on file descriptors.
/// epoll on Linux; `PollPoller` (poll(2)) elsewhere, where a kqueue poller can slot in.
protocol EventPoller: Sendable {
    /// Arms a one-shot interest; called with the reactor's lock held, from any thread.
    func arm(fd: Int32, events: IOEvents)
    func disarm(fd: Int32)
    /// Blocks up to `timeoutMilliseconds`; returns the fds that fired (their interest is consumed).
    func poll(timeoutMilliseconds: Int32) -> [Int32]
    func close()
}

/// One thread waits for readiness of every socket and pipe of a run and resumes the tasks
/// waiting on them.
///
/// Many operations can share one fd (channels of one SSH session): all waiters on an fd are
/// resumed together and each simply retries its call, which libssh2 expects anyway.
final class Reactor: Sendable {
    /// One suspended task; it may be listed under several fds and is resumed once.
    private final class Token: @unchecked Sendable {  // mutated only under the reactor's lock
        var continuation: CheckedContinuation<WaitResult, Never>?
        let deadline: ContinuousClock.Instant
        init(_ deadline: ContinuousClock.Instant) { self.deadline = deadline }
    }

    private struct State {
        var waiters: [Int32: [Token]] = [:]
        var interest: [Int32: IOEvents] = [:]
        var running = true
    }

    private let state = Locked(State())
    private let poller: any EventPoller
    /// Deadlines are swept this often; it is also the longest single poll.
    private static let tick: Duration = .milliseconds(50)

    init(poller: any EventPoller = Reactor.defaultPoller()) {
        self.poller = poller
        let thread = Thread { [self] in self.loop() }
        thread.name = "edgessh-reactor"
        thread.start()
    }

    static func defaultPoller() -> any EventPoller {
        #if os(Linux)
        return EpollPoller()
        #else
        return PollPoller()
        #endif
    }

    /// Suspends until `fd` may be ready for `events`, the deadline passes, or the task is cancelled.
    /// Runs on the caller's actor, so the waiter is registered before that actor runs anything else.
    func wait(
        fd: Int32, for events: IOEvents, until deadline: ContinuousClock.Instant,
        cancellable: Bool = true, isolation: isolated (any Actor)? = #isolation
    ) async -> WaitResult {
        await waitAny([(fd, events)], until: deadline, cancellable: cancellable)
    }

    /// Like `wait`, for whichever of several fds becomes ready first.
    func waitAny(
        _ interests: [(fd: Int32, events: IOEvents)], until deadline: ContinuousClock.Instant,
        cancellable: Bool = true, isolation: isolated (any Actor)? = #isolation
    ) async -> WaitResult {
        let token = Token(deadline)
        guard cancellable else {
            return await withCheckedContinuation(isolation: isolation) { enqueue(token, interests, false, $0) }
        }
        return await withTaskCancellationHandler(operation: {
            await withCheckedContinuation(isolation: isolation) { enqueue(token, interests, true, $0) }
        }, onCancel: {
            state.withLock { _ in Self.take(token) }?.resume(returning: .cancelled)
        }, isolation: isolation)
    }

    /// Resumes every waiter on `fd` now (another operation on the same session read their data).
    func wake(fd: Int32) {
        resume(state.withLock { Self.takeAll($0.waiters.removeValue(forKey: fd)) }, .ready)
    }

    /// Drops all interest in `fd`; call before closing it so a reused number starts clean.
    func forget(fd: Int32) {
        let dropped = state.withLock { s -> [CheckedContinuation<WaitResult, Never>] in
            s.interest[fd] = nil
            poller.disarm(fd: fd)
            return Self.takeAll(s.waiters.removeValue(forKey: fd))
        }
        resume(dropped, .cancelled)
    }

    func shutdown() {
        let all = state.withLock { s -> [CheckedContinuation<WaitResult, Never>] in
            s.running = false
            defer { s.waiters = [:] }
            return Self.takeAll(Array(s.waiters.values.joined()))
        }
        resume(all, .cancelled)
    }

    private func enqueue(
        _ token: Token, _ interests: [(fd: Int32, events: IOEvents)], _ cancellable: Bool,
        _ continuation: CheckedContinuation<WaitResult, Never>
    ) {
        let refused = state.withLock { s -> WaitResult? in
            if !s.running { return .cancelled }
            if cancellable && Task.isCancelled { return .cancelled }
            token.continuation = continuation
            for (fd, events) in interests {
                s.waiters[fd, default: []].append(token)
                let wanted = s.interest[fd, default: []].union(events)
                s.interest[fd] = wanted
                poller.arm(fd: fd, events: wanted)
            }
            return nil
        }
        if let refused { continuation.resume(returning: refused) }
    }

    private static func take(_ token: Token) -> CheckedContinuation<WaitResult, Never>? {
        defer { token.continuation = nil }
        return token.continuation
    }

    private static func takeAll(_ tokens: [Token]?) -> [CheckedContinuation<WaitResult, Never>] {
        (tokens ?? []).compactMap(take)
    }

    private func resume(_ continuations: [CheckedContinuation<WaitResult, Never>], _ result: WaitResult) {
        for c in continuations { c.resume(returning: result) }
    }

    private func loop() {
        let clock = ContinuousClock()
        var lastSweep = clock.now
        let tickMilliseconds = Int32(Self.tick.components.attoseconds / 1_000_000_000_000_000)
        while true {
            let fired = poller.poll(timeoutMilliseconds: tickMilliseconds)
            let now = clock.now
            let sweep = now - lastSweep >= Self.tick
            if sweep { lastSweep = now }
            var ready: [CheckedContinuation<WaitResult, Never>] = []
            var expired: [CheckedContinuation<WaitResult, Never>] = []
            let running = state.withLock { s -> Bool in
                for fd in fired {
                    s.interest[fd] = nil
                    ready += Self.takeAll(s.waiters.removeValue(forKey: fd))
                }
                if sweep {
                    for (fd, list) in s.waiters {
                        var keep: [Token] = []
                        for token in list where token.continuation != nil {
                            if token.deadline <= now { expired += Self.take(token).map { [$0] } ?? [] } else { keep.append(token) }
                        }
                        s.waiters[fd] = keep.isEmpty ? nil : keep
                    }
                }
                return s.running
            }
            resume(ready, .ready)
            resume(expired, .timedOut)
            if !running { break }
        }
        poller.close()
    }
}

#if os(Linux)
final class EpollPoller: EventPoller {
    private let epfd: Int32

    init() { epfd = epoll_create1(Int32(EPOLL_CLOEXEC)) }

    func arm(fd: Int32, events: IOEvents) { _ = edgeup_epoll_arm(epfd, fd, events.rawValue) }

    func disarm(fd: Int32) { _ = edgeup_epoll_disarm(epfd, fd) }

    func poll(timeoutMilliseconds: Int32) -> [Int32] {
        var fds = [Int32](repeating: 0, count: 256)
        var bits = [UInt32](repeating: 0, count: 256)
        let n = edgeup_epoll_wait(epfd, &fds, &bits, 256, timeoutMilliseconds)
        return n > 0 ? Array(fds[0..<Int(n)]) : []
    }

    func close() { _ = Foundation.close(epfd) }
}
#endif

/// Portable poll(2) backend: the fallback off Linux, and a test of the seam on Linux.
final class PollPoller: EventPoller {
    private let interest = Locked([Int32: IOEvents]())
    private let wakeRead: Int32
    private let wakeWrite: Int32

    init() {
        var ends: [Int32] = [0, 0]
        _ = pipe(&ends)
        makeNonBlockingCloseOnExec(ends[0])
        makeNonBlockingCloseOnExec(ends[1])
        wakeRead = ends[0]
        wakeWrite = ends[1]
    }

    func arm(fd: Int32, events: IOEvents) {
        interest.withLock { $0[fd] = events }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)  // interrupts a poll that started before this interest
    }

    func disarm(fd: Int32) { interest.withLock { $0[fd] = nil } }

    func poll(timeoutMilliseconds: Int32) -> [Int32] {
        var set = interest.withLock { $0 }.map { fd, ev in
            pollfd(fd: fd, events: Int16((ev.contains(.readable) ? POLLIN : 0) | (ev.contains(.writable) ? POLLOUT : 0)), revents: 0)
        }
        set.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
        let n = Foundation.poll(&set, nfds_t(set.count), timeoutMilliseconds)
        guard n > 0 else { return [] }
        var drain = [UInt8](repeating: 0, count: 256)
        while read(wakeRead, &drain, drain.count) > 0 {}
        let fired = set.dropLast().filter { $0.revents != 0 }.map(\.fd)
        interest.withLock { armed in for fd in fired { armed[fd] = nil } }
        return fired
    }

    func close() {
        _ = Foundation.close(wakeRead)
        _ = Foundation.close(wakeWrite)
    }
}
