/// The part of SOCKS5 (RFC 1928) a local proxy for kubectl needs: no authentication, CONNECT to a
/// name or an address. client-go sends the URL's host name as given (it does not resolve it), which
/// is what lets the proxy route by store name.
public enum SOCKS5 {
    /// What the client asked to connect to.
    public struct Request: Sendable, Hashable {
        public var host: String
        public var port: Int
        /// The client sent a name (address type 3), not an IP address.
        public var isName: Bool

        public init(host: String, port: Int, isName: Bool) {
            self.host = host
            self.port = port
            self.isName = isName
        }
    }

    /// Reply codes (RFC 1928, section 6).
    public enum Reply: UInt8, Sendable {
        case succeeded = 0
        case generalFailure = 1
        case notAllowed = 2
        case networkUnreachable = 3
        case hostUnreachable = 4
        case connectionRefused = 5
        case commandNotSupported = 7
        case addressTypeNotSupported = 8
    }

    /// Why a negotiation ended without a request; `reply` is what the client is told, when it got
    /// far enough to be told anything.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
        public var reply: Reply?
    }

    /// Reads the greeting and the request through `read` (exactly n bytes, nil when the client is
    /// gone or too slow) and answers the greeting through `write`. The request's reply is the
    /// caller's, once it knows whether the connection could be made (`reply(_:)`).
    public static func negotiate(
        read: (Int) async -> [UInt8]?, write: ([UInt8]) async -> Bool
    ) async throws(Failure) -> Request {
        guard let greeting = await read(2) else { throw Failure(description: "the client sent no SOCKS greeting") }
        guard greeting[0] == 5 else {
            throw Failure(description: "not a SOCKS5 client (version byte \(greeting[0])); use socks5:// in proxy-url")
        }
        guard let methods = await read(Int(greeting[1])) else { throw Failure(description: "the client's greeting ended early") }
        guard methods.contains(0) else {
            _ = await write([5, 0xFF])
            throw Failure(description: "the client offers no method without authentication (it offered \(methods))")
        }
        guard await write([5, 0]) else { throw Failure(description: "the client left after the greeting") }

        guard let header = await read(4), header[0] == 5 else { throw Failure(description: "the client sent no SOCKS5 request") }
        let host: String
        let isName: Bool
        switch header[3] {
        case 1:
            guard let bytes = await read(4) else { throw Failure(description: "the request ended early") }
            host = bytes.map(String.init).joined(separator: ".")
            isName = false
        case 3:
            guard let length = await read(1), let name = await read(Int(length[0])) else {
                throw Failure(description: "the request ended early")
            }
            host = String(decoding: name, as: UTF8.self)
            isName = true
        case 4:
            guard let bytes = await read(16) else { throw Failure(description: "the request ended early") }
            host = stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
                .joined(separator: ":")
            isName = false
        default:
            throw Failure(description: "address type \(header[3]) is not SOCKS5's", reply: .addressTypeNotSupported)
        }
        guard let portBytes = await read(2) else { throw Failure(description: "the request ended early") }
        let port = Int(portBytes[0]) << 8 | Int(portBytes[1])
        guard header[1] == 1 else {
            throw Failure(description: "only CONNECT is supported (the client asked for command \(header[1]))", reply: .commandNotSupported)
        }
        return Request(host: host, port: port, isName: isName)
    }

    /// The reply to a request; the bound address is not meaningful for a tunnel, so it is 0.0.0.0:0.
    public static func reply(_ code: Reply) -> [UInt8] {
        [5, code.rawValue, 0, 1, 0, 0, 0, 0, 0, 0]
    }
}
