/// CPU architectures k3s ships for, named as k3s names them.
public enum Architecture: String, Sendable, Hashable, Codable, CaseIterable {
    case amd64
    case arm64
    case arm
}

/// A local file to carry to hosts (air gap): one path, or one per architecture.
public enum ArtifactSource: Sendable, Hashable {
    case single(String)
    case perArchitecture([Architecture: String])

    public func path(for architecture: Architecture) -> String? {
        switch self {
        case let .single(path): path
        case let .perArchitecture(paths): paths[architecture]
        }
    }

    public var allPaths: [String] {
        switch self {
        case let .single(path): [path]
        case let .perArchitecture(paths): Architecture.allCases.compactMap { paths[$0] }
        }
    }
}

extension ArtifactSource: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let path = try? container.decode(String.self) {
            self = .single(path)
        } else {
            let raw = try container.decode([String: String].self)
            var paths: [Architecture: String] = [:]
            for (key, value) in raw {
                guard let arch = Architecture(rawValue: key) else {
                    throw DecodingError.dataCorruptedError(
                        in: container, debugDescription: "unknown architecture \(key)")
                }
                paths[arch] = value
            }
            self = .perArchitecture(paths)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .single(path):
            try container.encode(path)
        case let .perArchitecture(paths):
            try container.encode(Dictionary(uniqueKeysWithValues: paths.map { ($0.key.rawValue, $0.value) }))
        }
    }
}

/// What k3s a store should run and how it gets onto the hosts.
public struct K3sSettings: Sendable, Hashable, Codable {
    public var version: String?
    public var channel: String?
    /// Air gap: upload this binary instead of downloading on the host.
    public var binary: ArtifactSource?
    /// Air gap: image tarballs for /var/lib/rancher/k3s/agent/images/ (k3s imports them at start).
    public var airgapImages: [ArtifactSource]
    /// Online installs: where the install script comes from (a local mirror at some sites).
    public var installScriptURL: String?
    /// `certificateRenewalDays`: a node's certificates are renewed once fewer days than this are
    /// left (nil: `defaultCertificateRenewalDays`). See `Store.certificateRenewalWindow`.
    public var certificateRenewalDays: Int?
    /// Keys merged into /etc/rancher/k3s/config.yaml, in the user's order. Never a secret.
    public var config: [ConfigEntry]
    /// `k3s.config` keys given as `!env NAME`, resolved: k3s reads them from its environment.
    public var secrets: [K3sSecretSetting]
    /// registries.yaml (`k3s.registries`), nil: edgeup leaves the file alone.
    public var registries: RegistriesConfig?

    public init(
        version: String? = nil,
        channel: String? = nil,
        binary: ArtifactSource? = nil,
        airgapImages: [ArtifactSource] = [],
        installScriptURL: String? = nil,
        certificateRenewalDays: Int? = nil,
        config: [ConfigEntry] = [],
        secrets: [K3sSecretSetting] = [],
        registries: RegistriesConfig? = nil
    ) {
        self.version = version
        self.channel = channel
        self.binary = binary
        self.airgapImages = airgapImages
        self.installScriptURL = installScriptURL
        self.certificateRenewalDays = certificateRenewalDays
        self.config = config
        self.secrets = secrets
        self.registries = registries
    }

    /// The renewal window when the inventory sets none: k3s itself renews at start within 120 days
    /// (90 before 2025 releases), so 90 days leaves k3s the first chance.
    public static let defaultCertificateRenewalDays = 90
    /// What `certificateRenewalDays` may be: leaf certificates last 365 days.
    public static let certificateRenewalDaysRange = 1...364

    enum CodingKeys: String, CodingKey {
        case version, channel, binary, airgapImages, installScriptURL, certificateRenewalDays, config, secrets, registries
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decodeIfPresent(String.self, forKey: .version)
        channel = try container.decodeIfPresent(String.self, forKey: .channel)
        binary = try container.decodeIfPresent(ArtifactSource.self, forKey: .binary)
        if let one = try? container.decodeIfPresent(ArtifactSource.self, forKey: .airgapImages) {
            airgapImages = [one]
        } else {
            airgapImages = try container.decodeIfPresent([ArtifactSource].self, forKey: .airgapImages) ?? []
        }
        installScriptURL = try container.decodeIfPresent(String.self, forKey: .installScriptURL)
        certificateRenewalDays = try container.decodeIfPresent(Int.self, forKey: .certificateRenewalDays)
        config = try container.decodeIfPresent(ConfigValue.self, forKey: .config)?.mapEntries ?? []
        secrets = try container.decodeIfPresent([K3sSecretSetting].self, forKey: .secrets) ?? []
        registries = try container.decodeIfPresent(RegistriesConfig.self, forKey: .registries)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(version, forKey: .version)
        try container.encodeIfPresent(channel, forKey: .channel)
        try container.encodeIfPresent(binary, forKey: .binary)
        // One tarball encodes as before (a path or a map), so inventories keep their fingerprints.
        if airgapImages.count == 1 {
            try container.encode(airgapImages[0], forKey: .airgapImages)
        } else if !airgapImages.isEmpty {
            try container.encode(airgapImages, forKey: .airgapImages)
        }
        try container.encodeIfPresent(installScriptURL, forKey: .installScriptURL)
        try container.encodeIfPresent(certificateRenewalDays, forKey: .certificateRenewalDays)
        try container.encode(ConfigValue.map(config), forKey: .config)
        // Only when there are some: inventories without secrets keep their fingerprints.
        if !secrets.isEmpty { try container.encode(secrets, forKey: .secrets) }
        try container.encodeIfPresent(registries, forKey: .registries)
    }
}
