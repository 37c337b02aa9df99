import Yams

/// Turns one inventory file's text into a `RawInventoryFile`, reporting shape errors (wrong types,
/// unknown or missing keys) with their locations.
struct InventoryParser {
    static let topLevelKeys = ["defaults", "gateways", "stores"]
    static let defaultsKeys = ["ssh", "k3s", "playbooks", "values", "contextTemplate"]
    static let sshKeys = [
        "user", "port", "identityFile", "knownHostsFile", "hostKeyPolicy", "sudo", "transport",
        "passphraseEnv", "sudoPasswordEnv", "useAgent", "connectTimeout", "commandTimeout",
    ]
    static let k3sKeys = ["version", "channel", "binary", "airgapImages", "installScriptURL", "certificateRenewalDays", "config", "registries"]
    static let gatewayKeys = ["name", "address", "ssh", "via"]
    static let storeKeys = [
        "name", "labels", "via", "datastore", "apiEndpoint", "ssh", "k3s", "playbooks", "values", "context", "protected", "hosts",
    ]
    static let hostKeys = ["name", "address", "role", "ssh", "labels", "taints", "remove"]

    let reader: YAMLReader

    init(path: String) {
        reader = YAMLReader(file: path)
    }

    var diagnostics: Diagnostics { reader.diagnostics }

    func parse(_ text: String) -> RawInventoryFile {
        var file = RawInventoryFile(path: reader.file, defaults: nil, gateways: [], stores: [])
        guard let root = reader.document(
            text, empty: "the inventory is empty", hint: "an inventory needs at least 'stores:' with one store"),
            let fields = reader.fields(root, in: "the inventory", allowed: Self.topLevelKeys)
        else {
            return file
        }
        if let node = fields["defaults"] {
            file.defaults = parseDefaults(node)
        }
        for node in reader.sequence(fields["gateways"], "gateways") ?? [] {
            if let gateway = parseGateway(node) { file.gateways.append(gateway) }
        }
        for node in reader.sequence(fields["stores"], "stores") ?? [] {
            if let store = parseStore(node) { file.stores.append(store) }
        }
        return file
    }

    private func parseDefaults(_ node: Node) -> RawDefaults? {
        guard let fields = reader.fields(node, in: "defaults", allowed: Self.defaultsKeys) else { return nil }
        return RawDefaults(
            ssh: fields["ssh"].flatMap { parseSSH($0, in: "defaults.ssh") },
            k3s: fields["k3s"].flatMap { parseK3s($0, in: "defaults.k3s") },
            playbooks: reader.stringList(fields["playbooks"], "playbooks"),
            values: fields["values"].flatMap { parseValues($0, in: "defaults.values") },
            contextTemplate: reader.string(fields["contextTemplate"], "contextTemplate"))
    }

    /// Free-form values for playbook templates (`{{ values.KEY }}`); `!env NAME` reads a secret.
    private func parseValues(_ node: Node, in context: String) -> Located<[ConfigEntry]>? {
        guard case .mapping = node, let entries = ConfigValue(yaml: node).mapEntries else {
            reader.error(
                "\(context) must be a mapping, found \(reader.kind(of: node))", at: node,
                hint: "for example: values: {mqtt: {port: 1883}}")
            return nil
        }
        return Located(value: entries, location: reader.location(node))
    }

    private func parseSSH(_ node: Node, in context: String) -> RawSSH? {
        guard let fields = reader.fields(node, in: context, allowed: Self.sshKeys) else { return nil }
        return RawSSH(
            user: reader.string(fields["user"], "\(context).user"),
            port: reader.int(fields["port"], "\(context).port"),
            identityFile: reader.string(fields["identityFile"], "\(context).identityFile"),
            knownHostsFile: reader.string(fields["knownHostsFile"], "\(context).knownHostsFile"),
            hostKeyPolicy: reader.string(fields["hostKeyPolicy"], "\(context).hostKeyPolicy"),
            sudo: reader.bool(fields["sudo"], "\(context).sudo"),
            transport: reader.string(fields["transport"], "\(context).transport"),
            passphraseEnv: reader.string(fields["passphraseEnv"], "\(context).passphraseEnv"),
            sudoPasswordEnv: reader.string(fields["sudoPasswordEnv"], "\(context).sudoPasswordEnv"),
            useAgent: reader.bool(fields["useAgent"], "\(context).useAgent"),
            connectTimeout: reader.int(fields["connectTimeout"], "\(context).connectTimeout"),
            commandTimeout: reader.int(fields["commandTimeout"], "\(context).commandTimeout"))
    }

    private func parseK3s(_ node: Node, in context: String) -> RawK3s? {
        guard let fields = reader.fields(node, in: context, allowed: Self.k3sKeys) else { return nil }
        var k3s = RawK3s()
        k3s.version = reader.string(fields["version"], "\(context).version")
        k3s.channel = reader.string(fields["channel"], "\(context).channel")
        if let binary = fields["binary"] {
            k3s.binary = parseArtifact(binary, "\(context).binary")
            k3s.binaryLocation = reader.location(binary)
        }
        if let images = fields["airgapImages"] {
            if case let .sequence(items) = images {
                k3s.airgapImages = items.compactMap { parseArtifact($0, "each entry of \(context).airgapImages") }
            } else {
                k3s.airgapImages = parseArtifact(images, "\(context).airgapImages").map { [$0] }
            }
        }
        k3s.installScriptURL = reader.string(fields["installScriptURL"], "\(context).installScriptURL")
        k3s.certificateRenewalDays = parseRenewalDays(fields["certificateRenewalDays"], "\(context).certificateRenewalDays")
        if let registries = fields["registries"] { parseRegistries(registries, in: "\(context).registries", into: &k3s) }
        if let config = fields["config"] {
            if case let .mapping(mapping) = config {
                var entries: [ConfigEntry] = []
                for (keyNode, valueNode) in mapping {
                    let entry = ConfigEntry(keyNode.string ?? "\(keyNode)", ConfigValue(yaml: valueNode))
                    guard checkConfigEntry(entry, at: keyNode) else { continue }
                    if case .environment = entry.value { k3s.secretLocations[entry.key] = reader.location(valueNode) }
                    entries.append(entry)
                }
                k3s.config = Located(value: entries, location: reader.location(config))
            } else {
                reader.error(
                    "\(context).config must be a mapping of k3s settings, found \(reader.kind(of: config))",
                    at: config, hint: "for example: config: {disable: [traefik]}")
            }
        }
        return k3s
    }

    /// Days before expiry from which a node's certificates are renewed: 1 to 364, leaf certificates
    /// lasting 365 days (a longer window would renew them on every apply).
    private func parseRenewalDays(_ node: Node?, _ what: String) -> Located<Int>? {
        guard let days = reader.int(node, what, hint: "a number of days, e.g. certificateRenewalDays: 90") else { return nil }
        let range = K3sSettings.certificateRenewalDaysRange
        guard range.contains(days.value) else {
            reader.error(
                "\(what) must be \(range.lowerBound) to \(range.upperBound) days, found \(days.value)", at: days.location,
                hint: "k3s leaf certificates last 365 days, so a window of 365 or more would renew them on every apply "
                    + "(default \(K3sSettings.defaultCertificateRenewalDays))")
            return nil
        }
        return days
    }

    /// k3s settings edgeup owns: it writes them itself from the inventory and the cluster's state.
    static let managedConfigKeys: [String: String] = [
        "token": "edgeup reads the cluster's secure token from the first server and gives it to joiners itself",
        "cluster-secret": "edgeup reads the cluster's secure token from the first server and gives it to joiners itself",
        "agent-token": "edgeup manages join tokens itself",
        "agent-token-file": "edgeup manages join tokens itself",
        "token-file": "edgeup manages join tokens itself",
        "server": "edgeup points joiners at the first server itself",
        "cluster-init": "set 'datastore: etcd' on the store instead",
        "node-name": "set the host's 'name' instead",
        "private-registry": "set k3s.registries instead: edgeup writes /etc/rancher/k3s/registries.yaml before k3s first starts",
    ]

    /// k3s settings that would move what edgeup relies on.
    static let unsupportedConfigKeys: [String: String] = [
        "data-dir": "edgeup reads k3s's state under k3s's default /var/lib/rancher/k3s (server token, manifests, "
            + "its records, air-gap images); keep the default",
        "write-kubeconfig": "edgeup fetches /etc/rancher/k3s/k3s.yaml and merges it into your kubeconfig; "
            + "use that (kubectl --context STORE)",
        "write-kubeconfig-group": kubeconfigAccess,
    ]

    private static let kubeconfigAccess = "k3s.yaml holds cluster-admin credentials: edgeup keeps it root-only "
        + "and reads it through sudo; give tools on the host a scoped ServiceAccount instead"

    /// Config keys are k3s flag names (an optional `+` appends to a list). edgeup-owned and
    /// unsupported keys are refused, and so are secrets written in the file: they are given as
    /// `!env NAME` (only there), so they reach k3s through its environment, not config.yaml.
    /// Messages name keys, never values.
    private func checkConfigEntry(_ entry: ConfigEntry, at node: Node) -> Bool {
        let key = entry.key
        let flag = key.hasSuffix("+") ? String(key.dropLast()) : key
        if let long = K3sFlags.shortAliases[flag] {
            reader.error(
                "k3s config key '\(key)' is k3s's short alias for '\(long)'", at: node,
                hint: "write '\(long)', so edgeup checks it like every other key")
            return false
        }
        if let reason = Self.managedConfigKeys[flag] {
            reader.error("k3s config key '\(key)' is managed by edgeup", at: node, hint: reason)
            return false
        }
        if let reason = Self.unsupportedConfigKeys[flag] {
            reader.error("k3s config key '\(key)' is not supported by edgeup", at: node, hint: reason)
            return false
        }
        if flag.isEmpty || !flag.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) {
            reader.error(
                "k3s config key '\(key)' is not a k3s flag name", at: node,
                hint: "keys are k3s flags without dashes, e.g. disable, cluster-cidr, node-label+")
            return false
        }
        if flag == "write-kubeconfig-mode" {
            // A mode that keeps k3s.yaml root-only changes nothing edgeup relies on; others expose it.
            guard case let .string(text) = entry.value, let mode = UInt16(text, radix: 8), mode & 0o077 == 0 else {
                reader.error(
                    "k3s config key '\(key)' would let other users read k3s.yaml", at: node,
                    hint: Self.kubeconfigAccess + " (a quoted owner-only mode such as \"0600\" is fine)")
                return false
            }
        }
        if let variable = K3sFlags.secretEnvironment[flag] {
            switch entry.value {
            case .environment where key == flag:
                return true
            case let .string(text) where flag == "datastore-endpoint" && !K3sFlags.holdsPassword(datastoreEndpoint: text):
                return true
            default:
                reader.error(
                    "k3s config key '\(key)' holds a \(flag == "datastore-endpoint" ? "password" : "secret")", at: node,
                    hint: "write '\(flag): !env NAME' and export NAME for edgeup: k3s then reads it as \(variable) "
                        + "from its service's environment file (0600), never from config.yaml or a command line")
                return false
            }
        }
        if !entry.value.environmentNames.isEmpty {
            reader.error(
                "k3s config key '\(key)' cannot read the environment (!env)", at: node,
                hint: "only keys that hold secrets take !env: "
                    + K3sFlags.secretEnvironment.keys.sorted().joined(separator: ", "))
            return false
        }
        return true
    }

    /// A path, or a per-architecture map of paths (`{amd64: ..., arm64: ...}`).
    private func parseArtifact(_ node: Node, _ what: String) -> RawArtifact? {
        if case .mapping = node {
            guard let entries = reader.stringMap(node, what) else { return nil }
            return .perArchitecture(entries.map { (arch: $0.key, path: $0.value) })
        }
        return reader.string(node, what).map(RawArtifact.single)
    }

    private func parseGateway(_ node: Node) -> RawGateway? {
        guard let fields = reader.fields(node, in: "a gateway", allowed: Self.gatewayKeys, required: ["name", "address"])
        else { return nil }
        return RawGateway(
            name: reader.string(fields["name"], "gateway name"),
            address: reader.string(fields["address"], "gateway address"),
            ssh: fields["ssh"].flatMap { parseSSH($0, in: "gateway ssh") },
            via: reader.string(fields["via"], "gateway via"),
            location: fields.location)
    }

    private func parseStore(_ node: Node) -> RawStore? {
        guard let fields = reader.fields(node, in: "a store", allowed: Self.storeKeys, required: ["name", "hosts"])
        else { return nil }
        let name = reader.string(fields["name"], "store name")
        let label = name.map { "store '\($0.value)'" } ?? "a store"
        var hosts: [RawHost] = []
        for hostNode in reader.sequence(fields["hosts"], "\(label) hosts") ?? [] {
            if let host = parseHost(hostNode, in: label) { hosts.append(host) }
        }
        return RawStore(
            name: name,
            labels: reader.stringMap(fields["labels"], "\(label) labels"),
            via: reader.string(fields["via"], "\(label) via"),
            datastore: reader.string(fields["datastore"], "\(label) datastore"),
            apiEndpoint: reader.string(fields["apiEndpoint"], "\(label) apiEndpoint"),
            ssh: fields["ssh"].flatMap { parseSSH($0, in: "\(label) ssh") },
            k3s: fields["k3s"].flatMap { parseK3s($0, in: "\(label) k3s") },
            playbooks: reader.stringList(fields["playbooks"], "\(label) playbooks"),
            values: fields["values"].flatMap { parseValues($0, in: "\(label) values") },
            context: reader.string(fields["context"], "\(label) context"),
            protected: reader.bool(fields["protected"], "\(label) protected"),
            hosts: hosts,
            location: fields.location)
    }

    private func parseHost(_ node: Node, in store: String) -> RawHost? {
        let context = "a host of \(store)"
        guard let fields = reader.fields(node, in: context, allowed: Self.hostKeys, required: ["address", "role"])
        else { return nil }
        return RawHost(
            name: reader.string(fields["name"], "host name"),
            address: reader.string(fields["address"], "host address"),
            role: reader.string(fields["role"], "host role"),
            ssh: fields["ssh"].flatMap { parseSSH($0, in: "\(context): ssh") },
            labels: reader.stringMap(fields["labels"], "host labels"),
            taints: reader.stringList(fields["taints"], "host taints"),
            remove: reader.bool(fields["remove"], "host remove"),
            location: fields.location)
    }
}
