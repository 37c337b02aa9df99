/// An SSH jump host through which hosts (or other gateways) are reached.
public struct Gateway: Sendable, Hashable, Codable {
    public var name: String
    public var address: String
    public var ssh: SSHSettings
    /// The gateway through which this one is reached, if any.
    public var via: String?
    /// Resolved chain to reach this gateway, outermost first (excluding itself).
    public var gateways: [String]
    public var location: SourceLocation?

    public init(
        name: String,
        address: String,
        ssh: SSHSettings,
        via: String? = nil,
        gateways: [String] = [],
        location: SourceLocation? = nil
    ) {
        self.name = name
        self.address = address
        self.ssh = ssh
        self.via = via
        self.gateways = gateways
        self.location = location
    }
}
