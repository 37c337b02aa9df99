import Foundation

/// Non-blocking TCP connect through the reactor.
enum TCPConnector {
    static func connect(_ hop: SSHHop, reactor: Reactor, deadline: Deadline) async throws(SSHError) -> Int32 {
        let addresses = try await resolve(hop)
        var lastError: SSHError?
        for address in addresses {
            do {
                return try await connect(hop, address, reactor: reactor, deadline: deadline)
            } catch {
                if error.kind == .cancelled || error.kind == .timeout { throw error }
                lastError = error
            }
        }
        throw lastError ?? SSHError(.connectFailed, hop: hop.label, step: .connect, "\(hop.address) has no address")
    }

    private struct Address: @unchecked Sendable {  // plain bytes
        var storage = sockaddr_storage()
        var length: socklen_t = 0
        var family: Int32 = 0
    }

    private static func connect(_ hop: SSHHop, _ address: Address, reactor: Reactor, deadline: Deadline) async throws(SSHError) -> Int32 {
        let fd = socket(address.family, SOCK_STREAM_VALUE | SOCK_CLOEXEC_VALUE, 0)
        guard fd >= 0 else {
            throw SSHError(.localProcess, hop: hop.label, step: .connect, "cannot create a socket: \(errnoText())", hint: "raise the open-file limit (ulimit -n)")
        }
        makeNonBlockingCloseOnExec(fd)
        configure(fd)
        var storage = address.storage
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.connect(fd, $0, address.length) }
        }
        let target = "\(hop.address):\(hop.port)"
        if rc != 0 && errno != EINPROGRESS {
            let code = errno
            close(fd)
            throw failure(hop, code, target)
        }
        if rc != 0 {
            switch await reactor.wait(fd: fd, for: .writable, until: deadline.instant) {
            case .ready: break
            case .timedOut:
                reactor.forget(fd: fd)
                close(fd)
                throw SSHError(.timeout, hop: hop.label, step: .connect, "no TCP connection to \(target) within \(deadline.limit)",
                               hint: "the host may be down, or a firewall drops the traffic")
            case .cancelled:
                reactor.forget(fd: fd)
                close(fd)
                throw SSHError(.cancelled, hop: hop.label, step: .connect, "cancelled")
            }
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
            if code != 0 {
                reactor.forget(fd: fd)
                close(fd)
                throw failure(hop, code, target)
            }
        }
        return fd
    }

    /// A dead peer (host powered off, link cut) is noticed in about 30 s instead of the kernel's
    /// defaults (2 h idle; ~15 min of retransmissions): keepalive probes after 10 s of silence,
    /// every 5 s, 4 unanswered end it; TCP_USER_TIMEOUT ends it when sent data stays
    /// unacknowledged for 30 s.
    static let keepaliveIdleSeconds: Int32 = 10
    static let keepaliveIntervalSeconds: Int32 = 5
    static let keepaliveProbes: Int32 = 4
    static let userTimeoutMilliseconds: Int32 = 30_000

    static func configure(_ fd: Int32) {
        func set(_ level: Int32, _ option: Int32, _ value: Int32) {
            var value = value
            _ = setsockopt(fd, level, option, &value, socklen_t(MemoryLayout<Int32>.size))
        }
        let tcp = Int32(IPPROTO_TCP)
        set(tcp, TCP_NODELAY, 1)
        set(SOL_SOCKET, SO_KEEPALIVE, 1)
        set(tcp, TCP_KEEPINTVL, keepaliveIntervalSeconds)
        set(tcp, TCP_KEEPCNT, keepaliveProbes)
        #if os(Linux)
        set(tcp, TCP_KEEPIDLE, keepaliveIdleSeconds)
        set(tcp, TCP_USER_TIMEOUT, userTimeoutMilliseconds)
        #else
        set(tcp, TCP_KEEPALIVE, keepaliveIdleSeconds)  // Darwin's name for the idle time; it has no user timeout
        #endif
    }

    private static func failure(_ hop: SSHHop, _ code: Int32, _ target: String) -> SSHError {
        if code == ECONNREFUSED {
            return SSHError(.connectRefused, hop: hop.label, step: .connect, "connection refused by \(target)",
                            hint: "is sshd running, and is \(hop.port) the right port?")
        }
        return SSHError(.connectFailed, hop: hop.label, step: .connect, "cannot connect to \(target): \(errnoText(code))",
                        hint: "check the address and the network path to the host")
    }

    /// Numeric addresses resolve inline; names resolve on a separate thread (getaddrinfo blocks).
    private static func resolve(_ hop: SSHHop) async throws(SSHError) -> [Address] {
        if let numeric = lookup(hop, numericOnly: true) { return numeric }
        let found = await withCheckedContinuation { (continuation: CheckedContinuation<[Address]?, Never>) in
            Thread.detachNewThread { continuation.resume(returning: lookup(hop, numericOnly: false)) }
        }
        guard let found, !found.isEmpty else {
            throw SSHError(.connectFailed, hop: hop.label, step: .connect, "cannot resolve \(hop.address)",
                           hint: "check the host name and DNS")
        }
        return found
    }

    private static func lookup(_ hop: SSHHop, numericOnly: Bool) -> [Address]? {
        var hints = addrinfo()
        hints.ai_socktype = SOCK_STREAM_VALUE
        hints.ai_flags = AI_NUMERICSERV | (numericOnly ? AI_NUMERICHOST : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(hop.address, String(hop.port), &hints, &list) == 0 else { return nil }
        defer { freeaddrinfo(list) }
        var result: [Address] = []
        var entry = list
        while let current = entry {
            var address = Address()
            address.family = current.pointee.ai_family
            address.length = current.pointee.ai_addrlen
            withUnsafeMutableBytes(of: &address.storage) { raw in
                raw.copyMemory(from: UnsafeRawBufferPointer(start: current.pointee.ai_addr, count: Int(current.pointee.ai_addrlen)))
            }
            result.append(address)
            entry = current.pointee.ai_next
        }
        return result
    }
}
