import EdgeCore
import EdgeSSH
import Foundation
import Yams

/// `k3s.registries`: the store's /etc/rancher/k3s/registries.yaml (mirrors, rewrites, per-registry
/// auth and TLS), which k3s reads only at start — so edgeup writes it before the first start and a
/// change restarts the node. Credentials are `!env NAME`: read from the operator's environment when
/// the inventory loads, put into the file (0600) on the host, and otherwise never kept: plans,
/// fingerprints and saved state see the variable's name only.
public struct RegistriesConfig: Sendable, Hashable, Codable {
    /// The document as written, `!env` leaves as their variable names.
    public var document: [ConfigEntry]
    /// The values of the `!env` variables, by name.
    var secrets: [String: Secret]

    public init(document: [ConfigEntry], secrets: [String: Secret] = [:]) {
        self.document = document
        self.secrets = secrets
    }

    /// The file's text, credentials in place.
    public var rendered: String {
        func resolve(_ value: ConfigValue) -> ConfigValue {
            switch value {
            case let .environment(name): .string(secrets[name]?.value ?? "")
            case let .list(items): .list(items.map(resolve))
            case let .map(entries): .map(entries.map { ConfigEntry($0.key, resolve($0.value)) })
            default: value
            }
        }
        let body = (try? Yams.serialize(node: resolve(.map(document)).yamlNode, sortKeys: false)) ?? "{}\n"
        return "# Written by edgeup from the inventory (k3s.registries); local edits are replaced on the next apply.\n" + body
    }

    /// What facts compare with the host's file: the first 16 hex digits of the file's SHA-256, as
    /// edgeup fingerprints every file that holds a secret.
    public var fingerprint: String { String(SHA256Digest.hex(Data(rendered.utf8)).prefix(16)) }

    /// Registries with mirrors or configs, for plans (`docker.io, registry.local:5000`).
    public var registryNames: [String] {
        document.flatMap { $0.value.mapEntries?.map(\.key) ?? [] }.reduce(into: [String]()) { names, name in
            if !names.contains(name) { names.append(name) }
        }
    }

    enum CodingKeys: String, CodingKey { case document }

    /// Encoded for fingerprints: the document with variable names, never their values.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ConfigValue.map(document), forKey: .document)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        document = try container.decode(ConfigValue.self, forKey: .document).mapEntries ?? []
        secrets = [:]
    }

    /// The keys registries.yaml has (k3s's `registries.Registry`), each with what its value is.
    static let schema: [String: [String: Set<String>]] = [
        "mirrors": ["endpoint": [], "rewrite": []],
        "configs": ["auth": ["username", "password", "auth", "identitytoken"],
                    "tls": ["cert_file", "key_file", "ca_file", "insecure_skip_verify"]],
    ]
}
