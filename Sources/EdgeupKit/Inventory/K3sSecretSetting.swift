import EdgeSSH

/// A k3s setting that holds a secret, written `datastore-endpoint: !env PG_DSN` in `k3s.config`:
/// read from the operator's environment when the inventory is loaded, and handed to k3s through
/// the variable k3s reads for that flag (`K3sFlags.secretEnvironment`) in the service's 0600
/// environment file — never config.yaml (fingerprinted, diffed, probed) and never argv.
public struct K3sSecretSetting: Sendable, Hashable, Codable {
    /// The k3s flag, e.g. `etcd-s3-secret-key`.
    public var flag: String
    /// The operator's environment variable it was read from (the only part ever encoded).
    public var variable: String
    public var value: Secret
    /// The variable k3s reads for the flag, e.g. `AWS_SECRET_ACCESS_KEY`.
    public var k3sVariable: String

    /// nil when k3s takes no secret through `flag`.
    public init?(flag: String, variable: String, value: Secret) {
        guard let k3sVariable = K3sFlags.secretEnvironment[flag] else { return nil }
        self.flag = flag
        self.variable = variable
        self.value = value
        self.k3sVariable = k3sVariable
    }

    enum CodingKeys: String, CodingKey {
        case flag, variable
    }

    /// Encoded for fingerprints: the flag and the variable's name, never the value.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(flag, forKey: .flag)
        try container.encode(variable, forKey: .variable)
    }

    /// A secret is never stored, so there is nothing to read one back from.
    public init(from decoder: any Decoder) throws {
        throw DecodingError.dataCorrupted(.init(
            codingPath: decoder.codingPath, debugDescription: "k3s secret settings are never stored"))
    }
}
