import Yams

/// Turns one inventory file's text into a `RawInventoryFile`, reporting shape errors (wrong types,
/// unknown or missing keys) with their locations.
struct InventoryParser {
    static let topLevelKeys = ["defaults", "gateways", "stores"]
    static let defaultsKeys = ["ssh", "k3s", "playbooks", "values", "contextTemplate"]
    static let sshKeys = [
        "user", "port", "identityFile", "knownHostsFile", "hostKeyPolicy", "sudo", "transport",
        "passphraseEnv", "sudoPasswordEnv", "useAgent", "connectTimeout",
    ]
    static let k3sKeys = ["version", "channel", "binary", "airgapImages", "installScriptURL", "config"]
    static let gatewayKeys = ["name", "address", "ssh", "via"]
    static let storeKeys = [
        "name", "labels", "via", "datastore", "apiEndpoint", "ssh", "k3s", "playbooks", "values", "context", "hosts",
    ]
    static let hostKeys = ["name", "address", "role", "ssh", "labels", "taints"]

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
            connectTimeout: reader.int(fields["connectTimeout"], "\(context).connectTimeout"))
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
        k3s.airgapImages = fields["airgapImages"].flatMap { parseArtifact($0, "\(context).airgapImages") }
        k3s.installScriptURL = reader.string(fields["installScriptURL"], "\(context).installScriptURL")
        if let config = fields["config"] {
            if !ConfigValue(yaml: config).environmentNames.isEmpty {
                reader.error(
                    "\(context).config cannot read the environment (!env)", at: config,
                    hint: "k3s settings are written to the host as they are; keep secrets in k3s's own files")
            } else if case let .mapping(mapping) = config, let entries = ConfigValue(yaml: config).mapEntries {
                let keyNodes = mapping.map(\.key)
                let allowed = entries.filter { entry in
                    checkConfigKey(entry.key, at: keyNodes.first { $0.string == entry.key } ?? config)
                }
                k3s.config = Located(value: allowed, location: reader.location(config))
            } else {
                reader.error(
                    "\(context).config must be a mapping of k3s settings, found \(reader.kind(of: config))",
                    at: config, hint: "for example: config: {disable: [traefik]}")
            }
        }
        return k3s
    }

    /// k3s settings edgeup owns: it writes them itself from the inventory and the cluster's state.
    static let managedConfigKeys: [String: String] = [
        "token": "edgeup reads the cluster's secure token from the first server and gives it to joiners itself",
        "agent-token": "edgeup manages join tokens itself",
        "token-file": "edgeup manages join tokens itself",
        "server": "edgeup points joiners at the first server itself",
        "cluster-init": "set 'datastore: etcd' on the store instead",
        "node-name": "set the host's 'name' instead",
    ]

    /// Config keys are k3s flag names (an optional `+` appends to a list); edgeup-owned keys are refused.
    private func checkConfigKey(_ key: String, at node: Node) -> Bool {
        let flag = key.hasSuffix("+") ? String(key.dropLast()) : key
        if let reason = Self.managedConfigKeys[flag] {
            reader.error("k3s config key '\(key)' is managed by edgeup", at: node, hint: reason)
            return false
        }
        if flag.isEmpty || !flag.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) {
            reader.error(
                "k3s config key '\(key)' is not a k3s flag name", at: node,
                hint: "keys are k3s flags without dashes, e.g. disable, cluster-cidr, node-label+")
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
            location: fields.location)
    }
}
