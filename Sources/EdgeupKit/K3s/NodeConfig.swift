import EdgeCore
import Foundation
import Yams

/// The /etc/rancher/k3s/config.yaml edgeup wants on one host: the store's `config:` (filtered for
/// agents) followed by the keys edgeup owns. It never holds a secret — the join token is referenced
/// through `token-file` — so it can be hashed, diffed and shown in a plan.
public struct NodeConfig: Sendable, Hashable {
    public var entries: [ConfigEntry]

    public init(entries: [ConfigEntry]) {
        self.entries = entries
    }

    /// Builds the desired config for `host`, a member of `store`.
    public init(for host: Host, in store: Store) {
        var entries = host.role == .server
            ? store.k3s.config
            : store.k3s.config.filter { K3sFlags.isAgentFlag($0.key) }
        func set(_ key: String, _ value: ConfigValue) {
            entries = ConfigValue.merge(entries, [ConfigEntry(key, value)])
        }
        func append(_ key: String, _ values: [String]) {
            guard !values.isEmpty else { return }
            var existing: [ConfigValue] = []
            switch entries.first(where: { $0.key == key })?.value {
            case let .list(items)?: existing = items
            case let value?: existing = [value]
            case nil: break
            }
            var seen = Set(existing)
            set(key, .list(existing + values.map(ConfigValue.string).filter { seen.insert($0).inserted }))
        }
        if store.isFirstServer(host) {
            if store.datastore == .etcd { set("cluster-init", .bool(true)) }
        } else if let joinURL = store.joinURL {
            set("server", .string(joinURL))
            set("token-file", .string(K3sPaths.joinTokenFile))
        }
        if let nodeName = host.nodeName { set("node-name", .string(nodeName)) }
        if host.role == .server {
            set("agent-token-file", .string(K3sPaths.agentTokenFile))
            append("tls-san", [store.apiEndpoint].compactMap { $0 } + store.servers.map(\.address))
        }
        append("node-label", host.labels.keys.sorted().map { "\($0)=\(host.labels[$0] ?? "")" })
        append("node-taint", host.taints.map(\.description))
        self.entries = entries
    }

    /// The file's text: YAML with keys in a stable order, so an unchanged inventory renders the same bytes.
    public var rendered: String {
        let body = (try? Yams.serialize(node: ConfigValue.map(entries).yamlNode, sortKeys: false)) ?? "{}\n"
        return "# Written by edgeup from the inventory; local edits are replaced on the next apply.\n" + body
    }

    /// SHA-256 of `rendered`: what facts compare against the file on the host.
    public var fingerprint: String { SHA256Digest.hex(Data(rendered.utf8)) }

    /// Per-key fingerprints, so a plan can say which keys differ without holding any values.
    public var keyFingerprints: [String: String] {
        Self.keyFingerprints(ofText: rendered)
    }

    /// Per-key fingerprints of a config.yaml's text, computed exactly as the facts probe computes them
    /// on the host (`FactsProbe`), so the file's values never leave it: a key starts at a line that
    /// begins with neither blank, '#' nor '-', and its block runs to the next such line.
    public static func keyFingerprints(ofText text: String) -> [String: String] {
        var result: [String: String] = [:]
        var key: String?
        var block = ""
        func flush() {
            if let key { result[key] = SHA256Digest.hex(Data(block.utf8)) }
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0) {
            if let first = line.first, ![" ", "\t", "#", "-"].contains(first) {
                flush()
                key = String(line.prefix { $0 != ":" })
                block = ""
            }
            if key != nil { block += line + "\n" }
        }
        flush()
        return result
    }
}

extension Store {
    /// Where joiners find the cluster: the API endpoint when set, else the first server.
    public var joinURL: String? {
        guard let address = apiEndpoint ?? firstServer?.address else { return nil }
        let host = address.contains(":") && !address.hasPrefix("[") ? "[\(address)]" : address
        return "https://\(host):6443"
    }

    public func isFirstServer(_ host: Host) -> Bool {
        host.role == .server && firstServer?.name == host.name
    }
}
