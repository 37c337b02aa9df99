import CLibSSH2
import Foundation

/// A connected, non-blocking stream socket on a client's reactor: a proxy's accepted client, a
/// direct TCP connection, or the local end of a gateway tunnel. Closed once, by `close()`, by
/// `relay(with:)` when both directions ended, or when dropped.
public final class StreamSocket: Sendable {
    private let descriptor: WatchedDescriptor
    private var fd: Int32 { descriptor.fd }
    private var reactor: Reactor { descriptor.reactor }

    init(fd: Int32, reactor: Reactor) {
        descriptor = WatchedDescriptor(fd, reactor: reactor)
    }

    /// Up to `count` bytes; nil at end of stream, on an error, on cancellation or after `deadline`.
    public func read(upTo count: Int, until deadline: ContinuousClock.Instant) async -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        guard let n = await read(into: &buffer, until: deadline) else { return nil }
        return Array(buffer[0..<n])
    }

    /// Fills the front of `buffer`; the count read, or nil as `read(upTo:until:)` says.
    private func read(into buffer: inout [UInt8], until deadline: ContinuousClock.Instant) async -> Int? {
        while true {
            let n = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n > 0 { return n }
            guard n < 0, errno == EAGAIN || errno == EINTR else { return nil }
            guard await reactor.wait(fd: fd, for: .readable, until: deadline) == .ready else { return nil }
        }
    }

    /// Exactly `count` bytes, or nil (see `read(upTo:until:)`).
    public func read(exactly count: Int, until deadline: ContinuousClock.Instant) async -> [UInt8]? {
        var bytes: [UInt8] = []
        while bytes.count < count {
            guard let chunk = await read(upTo: count - bytes.count, until: deadline) else { return nil }
            bytes += chunk
        }
        return bytes
    }

    /// Writes all of `bytes`; false when the peer is gone, on cancellation or after `deadline`.
    public func write(_ bytes: [UInt8], until deadline: ContinuousClock.Instant) async -> Bool {
        await write(bytes[...], until: deadline)
    }

    private func write(_ bytes: ArraySlice<UInt8>, until deadline: ContinuousClock.Instant) async -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress!.advanced(by: offset), bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                offset += n
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                guard await reactor.wait(fd: fd, for: .writable, until: deadline) == .ready else { return false }
            } else {
                return false
            }
        }
        return true
    }

    /// Bytes moved by `relay(with:)`: `sent` from this socket to the other, `received` back.
    public struct RelayCounts: Sendable, Hashable {
        public var sent = 0
        public var received = 0
    }

    /// Copies both ways until both directions ended (an end of stream is passed on as a half
    /// close) or one side failed, then closes both sockets. Cancellation ends it too.
    public func relay(with other: StreamSocket) async -> RelayCounts {
        async let sent = Self.copy(from: self, to: other)
        async let received = Self.copy(from: other, to: self)
        let counts = RelayCounts(sent: await sent, received: await received)
        close()
        other.close()
        return counts
    }

    /// One direction; on a failure both sockets are shut down so the other direction ends too.
    private static func copy(from source: StreamSocket, to destination: StreamSocket) async -> Int {
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        while let n = await source.read(into: &buffer, until: Deadline.none.instant) {
            guard await destination.write(buffer[..<n], until: Deadline.none.instant) else {
                source.shutdown(Int32(SHUT_RDWR))
                destination.shutdown(Int32(SHUT_RDWR))
                return total
            }
            total += n
        }
        destination.shutdown(Int32(SHUT_WR))
        return total
    }

    private func shutdown(_ how: Int32) { descriptor.shutdown(how) }

    public func close() { descriptor.close() }
}
