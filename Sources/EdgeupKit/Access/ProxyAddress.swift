import EdgeSSH

/// Where edgeup's proxy listens, and so what the kubeconfig entries of stores behind gateways name
/// as their `proxy-url`: 127.0.0.1:1080 (SOCKS's usual port), or `EDGEUP_PROXY` when set — read by
/// `edgeup proxy` and by every command that writes kubeconfig entries, so the two always agree.
public struct ProxyAddress: Sendable, Hashable, CustomStringConvertible {
    /// A numeric address: the proxy binds it and kubectl dials it, neither should depend on DNS.
    public var host: String
    public var port: Int

    public static let standard = ProxyAddress(host: "127.0.0.1", port: 1080)
    public static let environmentVariable = "EDGEUP_PROXY"

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port` or `[v6]:port`; nil when that is not what `text` is.
    public init?(parsing text: String) {
        let host: Substring
        let port: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") {
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else if let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") {
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        } else {
            return nil
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }),
              let number = Int(port), (0...65535).contains(number) else { return nil }
        self.init(host: String(host), port: number)
    }

    /// `EDGEUP_PROXY` from `environment`, else `standard`; an unusable value is an error, not ignored.
    public static func configured(in environment: [String: String]) throws(ProxyAddressError) -> ProxyAddress {
        guard let text = environment[environmentVariable], !text.isEmpty else { return standard }
        guard let address = ProxyAddress(parsing: text), address.port != 0 else { throw ProxyAddressError(text: text) }
        return address
    }

    public var description: String { SSHHop.endpoint(address: host, port: port) }

    /// The kubeconfig `proxy-url`.
    public var url: String { "socks5://" + description }
}

public struct ProxyAddressError: Error, Sendable, CustomStringConvertible {
    public var text: String
    public var description: String {
        "\(ProxyAddress.environmentVariable)='\(text)' is not a numeric address and port, e.g. 127.0.0.1:1080 or [::1]:1080"
    }
}
