import CLibSSH2
import Foundation

/// Channel I/O that exec's `pump` and the interactive `relay` share.
extension LibSSH2Connection {
    /// Reads what stdout (0) and stderr (1) hold now, both of them each time (draining one first
    /// deadlocks once the other fills its window), handing each chunk to `receive`; a stream at
    /// EOF is marked closed in `open`. Returns whether anything moved.
    func readStreams(
        _ channel: OpaquePointer, into buffer: inout [UInt8], open: inout [Int32: Bool], _ receive: (Int32, Data) -> Void
    ) throws(SSHError) -> Bool {
        var progressed = false
        for stream: Int32 in [0, 1] where open[stream]! {
            let before = bytesIn.pointee
            let n = libssh2_channel_read_ex(channel, stream, &buffer, buffer.count)
            if bytesIn.pointee != before {
                reactor.wake(fd: fd)
                progressed = true  // buffered data may be waiting; go round before waiting
            }
            if n > 0 {
                receive(stream, Data(buffer[0..<n]))
                progressed = true
            } else if n == 0 {
                if libssh2_channel_eof(channel) != 0 { open[stream] = false }
            } else if n != Int(LIBSSH2_ERROR_EAGAIN) && n != Int(LIBSSH2_ERROR_BAD_USE) {
                throw failed(.channel, .exec, "reading output", code: Int32(n))
            }
        }
        return progressed
    }

    /// Sends the channel's EOF; false while libssh2 asks to be called again.
    func sendEOF(_ channel: OpaquePointer) -> Bool {
        let rc = libssh2_channel_send_eof(channel)
        return rc != LIBSSH2_ERROR_EAGAIN && rc != LIBSSH2_ERROR_BAD_USE
    }
}
