import Yams

extension InventoryParser {
    /// `k3s.registries`, checked against the shape of k3s's registries.yaml: `mirrors` (each with
    /// `endpoint` URLs and an optional `rewrite` map) and `configs` (each with `auth` and `tls`).
    /// Credentials must be `!env NAME`, and only they may be. Messages name keys, never values.
    func parseRegistries(_ node: Node, in context: String, into k3s: inout RawK3s) {
        guard let top = reader.fields(node, in: context, allowed: Array(RegistriesConfig.schema.keys.sorted())) else { return }
        var document: [ConfigEntry] = []
        for section in ["mirrors", "configs"] {
            guard let sectionNode = top.entries[section]?.value else { continue }
            guard case let .mapping(registries) = sectionNode else {
                reader.error("\(context).\(section) must be a mapping of registry names, found \(reader.kind(of: sectionNode))", at: sectionNode,
                             hint: section == "mirrors" ? "for example: mirrors: {docker.io: {endpoint: [\"https://registry.local:5000\"]}}"
                                 : "for example: configs: {registry.local:5000: {auth: {username: edge, password: !env REGISTRY_PASSWORD}}}")
                continue
            }
            var entries: [ConfigEntry] = []
            for (nameNode, bodyNode) in registries {
                let name = nameNode.string ?? ""
                let where_ = "\(context).\(section).\(name)"
                guard !name.isEmpty, !name.contains(where: { $0.isWhitespace }) else {
                    reader.error("registry names in \(context).\(section) are host names (with a port) or '*'", at: nameNode)
                    continue
                }
                guard let value = section == "mirrors" ? mirror(bodyNode, where_) : config(bodyNode, where_, into: &k3s) else { continue }
                entries.append(ConfigEntry(name, value))
            }
            document.append(ConfigEntry(section, .map(entries)))
        }
        k3s.registries = Located(value: document, location: reader.location(node))
    }

    private func mirror(_ node: Node, _ context: String) -> ConfigValue? {
        guard let fields = reader.fields(node, in: context, allowed: ["endpoint", "rewrite"], required: ["endpoint"]) else { return nil }
        var entries: [ConfigEntry] = []
        if let endpoints = reader.stringList(fields.entries["endpoint"]?.value, "\(context).endpoint") {
            for endpoint in endpoints where !(endpoint.value.hasPrefix("https://") || endpoint.value.hasPrefix("http://")) {
                reader.error("endpoint '\(endpoint.value)' of \(context) is not an http(s) URL", at: endpoint.location,
                             hint: "containerd pulls from URLs such as https://registry.local:5000")
            }
            entries.append(ConfigEntry("endpoint", .list(endpoints.map { .string($0.value) })))
        }
        if let rewriteNode = fields.entries["rewrite"]?.value, let rewrites = reader.stringMap(rewriteNode, "\(context).rewrite") {
            entries.append(ConfigEntry("rewrite", .map(rewrites.map { ConfigEntry($0.key.value, .string($0.value.value)) })))
        }
        return .map(entries)
    }

    private func config(_ node: Node, _ context: String, into k3s: inout RawK3s) -> ConfigValue? {
        let schema = RegistriesConfig.schema["configs"]!
        guard let fields = reader.fields(node, in: context, allowed: schema.keys.sorted()) else { return nil }
        var entries: [ConfigEntry] = []
        for part in ["auth", "tls"] {
            guard let partNode = fields.entries[part]?.value,
                  let values = reader.fields(partNode, in: "\(context).\(part)", allowed: schema[part]!.sorted()) else { continue }
            var items: [ConfigEntry] = []
            for key in schema[part]!.sorted() {
                guard let (keyNode, valueNode) = values.entries[key] else { continue }
                let value = ConfigValue(yaml: valueNode)
                let credential = part == "auth" && key != "username"
                switch value {
                case let .environment(variable) where part == "auth":
                    k3s.registrySecretLocations[variable] = reader.location(valueNode)
                case .environment:
                    reader.error("\(context).\(part).\(key) cannot read the environment (!env)", at: valueNode,
                                 hint: "only credentials under auth take !env; TLS files are paths on the host")
                    continue
                case .string where credential:
                    reader.error("\(context).auth.\(key) holds a credential", at: keyNode,
                                 hint: "write '\(key): !env NAME' and export NAME for edgeup: the value goes only into registries.yaml (0600) on the hosts")
                    continue
                case .string, .bool:
                    break
                default:
                    reader.error("\(context).\(part).\(key) must be a string\(key == "insecure_skip_verify" ? " or true/false" : "")", at: valueNode)
                    continue
                }
                items.append(ConfigEntry(key, value))
            }
            entries.append(ConfigEntry(part, .map(items)))
        }
        return .map(entries)
    }
}
