/// What a host does in its store's cluster.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
    case server
    case agent
}

/// A Kubernetes node taint, `key[=value]:Effect`.
public struct Taint: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Effect: String, Sendable, Hashable, Codable, CaseIterable {
        case noSchedule = "NoSchedule"
        case preferNoSchedule = "PreferNoSchedule"
        case noExecute = "NoExecute"
    }

    public var key: String
    public var value: String?
    public var effect: Effect

    public init(key: String, value: String?, effect: Effect) {
        self.key = key
        self.value = value
        self.effect = effect
    }

    public var description: String {
        if let value { return "\(key)=\(value):\(effect.rawValue)" }
        return "\(key):\(effect.rawValue)"
    }
}

/// One machine of a store, fully resolved (defaults → store → host).
public struct Host: Sendable, Hashable, Codable {
    /// The name edgeup shows: the inventory's `name`, else the address.
    public var name: String
    /// The Kubernetes node name when the inventory sets one; nil leaves k3s's default (the hostname).
    public var nodeName: String?
    public var address: String
    public var role: Role
    public var ssh: SSHSettings
    public var labels: [String: String]
    public var taints: [Taint]
    /// Gateways to pass through, outermost first (empty: reached directly).
    public var gateways: [String]
    public var location: SourceLocation?

    public init(
        name: String,
        nodeName: String? = nil,
        address: String,
        role: Role,
        ssh: SSHSettings,
        labels: [String: String] = [:],
        taints: [Taint] = [],
        gateways: [String] = [],
        location: SourceLocation? = nil
    ) {
        self.name = name
        self.nodeName = nodeName
        self.address = address
        self.role = role
        self.ssh = ssh
        self.labels = labels
        self.taints = taints
        self.gateways = gateways
        self.location = location
    }
}
