import CLibSSH2
import Foundation

/// A listening TCP socket on a client's reactor, for local proxies.
public final class SocketListener: Sendable {
    /// The address and port it listens on (the port the kernel chose when asked for 0).
    public let address: String
    public let port: Int
    private let descriptor: WatchedDescriptor
    private var fd: Int32 { descriptor.fd }
    private var reactor: Reactor { descriptor.reactor }

    /// Binds `address:port` (numeric IPv4 or IPv6) and listens.
    init(address: String, port: Int, reactor: Reactor) throws(SSHError) {
        func failure(_ what: String, hint: String? = nil) -> SSHError {
            SSHError(.localProcess, hop: "\(address):\(port)", step: .connect, what, hint: hint)
        }
        var hints = addrinfo()
        hints.ai_socktype = SOCK_STREAM_VALUE
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(address, String(port), &hints, &list) == 0, let info = list else {
            throw failure("'\(address)' is not a numeric IP address to listen on", hint: "e.g. 127.0.0.1 or ::1")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(info.pointee.ai_family, SOCK_STREAM_VALUE | SOCK_CLOEXEC_VALUE, 0)
        guard fd >= 0 else { throw failure("cannot create a socket: \(errnoText())") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let code = errno
            Foundation.close(fd)
            throw failure("cannot listen on \(address):\(port): \(errnoText(code))",
                          hint: code == EADDRINUSE ? "another program (another proxy, or ssh -D) uses the port: stop it or choose another port" : nil)
        }
        guard listen(fd, 512) == 0 else {
            let reason = errnoText()
            Foundation.close(fd)
            throw failure("cannot listen on \(address):\(port): \(reason)")
        }
        makeNonBlockingCloseOnExec(fd)
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.address = address
        self.port = Self.endpoint(storage).port
        descriptor = WatchedDescriptor(fd, reactor: reactor)
    }

    /// The next connection and the peer's address, or nil once closed or cancelled.
    public func accept() async -> (socket: StreamSocket, peer: String)? {
        while !descriptor.isClosed {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.accept(fd, $0, &length) }
            }
            if client >= 0 {
                makeNonBlockingCloseOnExec(client)
                var one: Int32 = 1
                _ = setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                let peer = Self.endpoint(storage)
                return (StreamSocket(fd: client, reactor: reactor), SSHHop.endpoint(address: peer.address, port: peer.port))
            }
            switch errno {
            case EAGAIN, EINTR, ECONNABORTED:
                if await reactor.wait(fd: fd, for: .readable, until: Deadline.none.instant) == .cancelled { return nil }
            case EMFILE, ENFILE:
                // Out of descriptors: wait for connections to end rather than spin.
                try? await Task.sleep(for: .milliseconds(100))
                if Task.isCancelled { return nil }
            default:
                return nil
            }
        }
        return nil
    }

    public func close() { descriptor.close() }

    private static func endpoint(_ storage: sockaddr_storage) -> (address: String, port: Int) {
        var storage = storage
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let length = socklen_t(storage.ss_family == sa_family_t(AF_INET6) ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), &service, socklen_t(service.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard rc == 0 else { return ("?", 0) }
        func text(_ chars: [CChar]) -> String { String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return (text(host), Int(text(service)) ?? 0)
    }
}
