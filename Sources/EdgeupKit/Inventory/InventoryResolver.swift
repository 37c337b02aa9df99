import EdgeSSH

/// Merges parsed inventory files, layers defaults → store → host, and checks every rule that spans
/// values (names, references, cycles, server counts). Collects all problems; never stops early.
struct InventoryResolver {
    let paths: PathResolver
    /// The operator's environment, for `k3s.config` secrets given as `!env NAME`.
    let environment: [String: String]
    var diagnostics = Diagnostics()
    /// contextTemplates already reported as giving an invalid context name.
    private var reportedTemplates: Set<SourceLocation> = []
    /// Secret problems already reported: stores sharing the defaults' secrets would repeat them.
    var reportedSecrets = Set<String>()

    init(paths: PathResolver, environment: [String: String]) {
        self.paths = paths
        self.environment = environment
    }

    mutating func resolve(_ files: [RawInventoryFile]) -> Inventory {
        // A file's defaults apply to its own gateways and stores and to later files without
        // defaults of their own: `common.yaml eu.yaml us.yaml` and self-contained files both work.
        var effective: RawDefaults?
        var gateways: [(RawGateway, RawDefaults?)] = []
        var stores: [(RawStore, RawDefaults?)] = []
        for file in files {
            if let defaults = file.defaults {
                checkDefaults(defaults)
                effective = defaults
            }
            gateways += file.gateways.map { ($0, effective) }
            stores += file.stores.map { ($0, effective) }
        }
        let resolvedGateways = resolveGateways(gateways)
        let resolvedStores = resolveStores(stores, gateways: resolvedGateways)
        return Inventory(files: files.map(\.path), gateways: resolvedGateways, stores: resolvedStores)
    }

    // MARK: defaults

    private mutating func checkDefaults(_ defaults: RawDefaults) {
        for playbook in defaults.playbooks ?? [] { checkPlaybookName(playbook) }
        if let template = defaults.contextTemplate, !template.value.contains("{store}") {
            diagnostics.error(
                "contextTemplate '\(template.value)' does not contain {store}", at: template.location,
                hint: "every store needs its own context name, e.g. 'edge-{store}'")
        }
    }

    /// Checks a store or gateway name and records it; false (after reporting) when already taken.
    private mutating func claimName(
        _ name: Located<String>, kind: String, in seen: inout [String: SourceLocation]
    ) -> Bool {
        if let problem = Syntax.dnsLabelProblem(name.value) {
            diagnostics.error(
                "\(kind) name '\(name.value)' \(problem)", at: name.location,
                hint: "names become kubeconfig contexts and folder names: lowercase letters, digits and '-'")
        }
        if let first = seen[name.value] {
            diagnostics.error(
                "duplicate \(kind) name '\(name.value)' (first defined at \(first))", at: name.location,
                hint: "\(kind) names must be unique across all inventory files")
            return false
        }
        seen[name.value] = name.location
        return true
    }

    // MARK: gateways

    private mutating func resolveGateways(_ raw: [(RawGateway, RawDefaults?)]) -> [Gateway] {
        var byName: [String: RawGateway] = [:]
        var firstByName: [String: SourceLocation] = [:]
        var ordered: [(RawGateway, RawDefaults?)] = []
        for (gateway, defaults) in raw {
            guard let name = gateway.name, claimName(name, kind: "gateway", in: &firstByName) else { continue }
            byName[name.value] = gateway
            ordered.append((gateway, defaults))
        }
        let names = ordered.compactMap(\.0.name?.value)
        for (gateway, _) in ordered {
            if let via = gateway.via, byName[via.value] == nil {
                reportUnknownGateway(via, known: names)
            }
        }
        let chains = gatewayChains(byName)
        var seenAddresses: [String: SourceLocation] = [:]
        return ordered.compactMap { gateway, defaults in
            guard let name = gateway.name, let address = gateway.address else { return nil }
            checkAddress(address, what: "gateway '\(name.value)' address")
            let chain = chains[name.value] ?? []
            let scopeKey = (chain + [address.value.lowercased()]).joined(separator: ">")
            if let first = seenAddresses[scopeKey] {
                diagnostics.error(
                    "gateway '\(name.value)' has the same address as another gateway (at \(first))",
                    at: address.location, hint: "one machine needs only one gateway entry; refer to it by name")
            } else {
                seenAddresses[scopeKey] = address.location
            }
            let ssh = resolveSSH(defaults?.ssh?.overlaid(with: gateway.ssh) ?? gateway.ssh, at: gateway.location)
            return Gateway(
                name: name.value, address: address.value, ssh: ssh, via: gateway.via?.value,
                gateways: chain, location: name.location)
        }
    }

    /// Each gateway's chain (outermost first). Cycles are reported once each and break the chain.
    private mutating func gatewayChains(_ gateways: [String: RawGateway]) -> [String: [String]] {
        var chains: [String: [String]] = [:]
        var reportedCycles = Set<Set<String>>()
        for name in gateways.keys.sorted() {
            var path: [String] = []
            var current = gateways[name]?.via?.value
            var broken = false
            while let next = current {
                if next == name || path.contains(next) {
                    let cycleStart = next == name ? 0 : (path.firstIndex(of: next) ?? 0)
                    let members = next == name ? [name] + path : Array(path[cycleStart...])
                    if reportedCycles.insert(Set(members)).inserted, let via = gateways[name]?.via {
                        let loop = (members + [members[0]]).joined(separator: " → ")
                        diagnostics.error(
                            "gateway cycle: \(loop)", at: via.location,
                            hint: "a gateway's 'via' must lead to a machine reachable without it")
                    }
                    broken = true
                    break
                }
                guard gateways[next] != nil else { break }
                path.append(next)
                current = gateways[next]?.via?.value
            }
            chains[name] = broken ? [] : path.reversed()
        }
        return chains
    }

    private mutating func reportUnknownGateway(_ reference: Located<String>, known: [String]) {
        let hint = Suggestions.didYouMean(reference.value, in: known)
            ?? (known.isEmpty ? "no gateways are defined; add one under 'gateways:'" : "known gateways: \(known.joined(separator: ", "))")
        diagnostics.error("unknown gateway '\(reference.value)' in via", at: reference.location, hint: hint)
    }

    // MARK: stores

    private mutating func resolveStores(_ raw: [(RawStore, RawDefaults?)], gateways: [Gateway]) -> [Store] {
        var firstByName: [String: SourceLocation] = [:]
        var contexts: [String: SourceLocation] = [:]
        var addressesInScope: [String: (store: String, location: SourceLocation)] = [:]
        var stores: [Store] = []
        for (store, defaults) in raw {
            guard let name = store.name, claimName(name, kind: "store", in: &firstByName) else { continue }
            guard let resolved = resolveStore(store, name: name, defaults: defaults, gateways: gateways) else { continue }
            if let first = contexts[resolved.context] {
                diagnostics.error(
                    "context name '\(resolved.context)' is used by two stores (first at \(first))",
                    at: store.context?.location ?? name.location,
                    hint: "give one of them a different 'context:'")
            } else {
                contexts[resolved.context] = store.context?.location ?? name.location
            }
            for host in resolved.hosts {
                let scope = (host.gateways + [host.address.lowercased()]).joined(separator: ">")
                let location = store.hosts.first { $0.location == host.location }?.address?.location ?? host.location
                if let first = addressesInScope[scope] {
                    diagnostics.error(
                        "address \(host.address) is used twice (also by a host of store '\(first.store)' at \(first.location))",
                        at: location,
                        hint: host.gateways.isEmpty
                            ? "each host needs its own address; hosts behind different gateways may share one"
                            : "hosts behind the same gateway need distinct addresses")
                } else if let location {
                    addressesInScope[scope] = (resolved.name, location)
                }
            }
            stores.append(resolved)
        }
        return stores
    }

    private mutating func resolveStore(
        _ store: RawStore, name: Located<String>, defaults: RawDefaults?, gateways: [Gateway]
    ) -> Store? {
        var chain: [String] = []
        if let via = store.via {
            if let gateway = gateways.first(where: { $0.name == via.value }) {
                chain = gateway.gateways + [gateway.name]
            } else {
                reportUnknownGateway(via, known: gateways.map(\.name))
            }
        }
        let storeSSH = defaults?.ssh?.overlaid(with: store.ssh) ?? store.ssh
        var hosts: [Host] = []
        var removing: [Host] = []
        var hostNames: [String: SourceLocation] = [:]
        for raw in store.hosts {
            guard let host = resolveHost(raw, store: name.value, ssh: storeSSH, gateways: chain) else { continue }
            if let first = hostNames[host.name] {
                diagnostics.error(
                    "host name '\(host.name)' is used twice in store '\(name.value)' (first at \(first))",
                    at: raw.name?.location ?? raw.location, hint: "node names must be unique within a cluster")
            } else {
                hostNames[host.name] = raw.name?.location ?? raw.location
            }
            if raw.remove?.value == true { removing.append(host) } else { hosts.append(host) }
        }
        let labels = resolveLabels(store.labels)
        let datastore = resolveDatastore(store, name: name, hosts: hosts, removing: removing)
        if let endpoint = store.apiEndpoint {
            checkAddress(endpoint, what: "apiEndpoint")
        }
        let k3sRaw = (defaults?.k3s ?? RawK3s()).overlaid(with: store.k3s)
        let k3s = resolveK3s(k3sRaw)
        let playbooks = store.playbooks ?? defaults?.playbooks ?? []
        for playbook in store.playbooks ?? [] { checkPlaybookName(playbook) }
        let values = ConfigValue.deepMerge(defaults?.values?.value ?? [], store.values?.value ?? [])
        var context = store.context?.value
        if let explicit = store.context, let problem = StoreKubeconfig.contextNameProblem(explicit.value) {
            diagnostics.error(
                "context name '\(explicit.value)' \(problem)", at: explicit.location, hint: StoreKubeconfig.contextNameHint)
        } else if context == nil, let template = defaults?.contextTemplate {
            let named = template.value.replacingOccurrences(of: "{store}", with: name.value)
            context = named
            // Reported once per template, naming the first store it fails for.
            if let problem = StoreKubeconfig.contextNameProblem(named), reportedTemplates.insert(template.location).inserted {
                diagnostics.error(
                    "contextTemplate gives store '\(name.value)' the context name '\(named)', which \(problem)",
                    at: template.location, hint: StoreKubeconfig.contextNameHint)
            }
        }
        // Servers first, keeping inventory order: the first server initialises the cluster.
        let ordered = hosts.filter { $0.role == .server } + hosts.filter { $0.role == .agent }
        var resolved = Store(
            name: name.value, labels: labels, datastore: datastore ?? .sqlite,
            apiEndpoint: store.apiEndpoint?.value, via: store.via?.value, k3s: k3s,
            playbooks: playbooks.map(\.value), playbooksLocation: playbooks.first?.location, values: .map(values),
            context: context, hosts: ordered, location: name.location)
        resolved.isProtected = store.protected?.value == true
        resolved.removing = removing.filter { $0.role == .server } + removing.filter { $0.role == .agent }
        return resolved
    }

    private mutating func resolveDatastore(_ store: RawStore, name: Located<String>, hosts: [Host], removing: [Host]) -> Datastore? {
        let servers = hosts.filter { $0.role == .server }.count
        if servers == 0 && !hosts.isEmpty {
            diagnostics.error(
                "store '\(name.value)' has no server", at: name.location,
                hint: "give one host 'role: server' (three for an HA etcd store)")
        }
        if hosts.isEmpty && !store.hosts.contains(where: { $0.role == nil }) {
            diagnostics.error("store '\(name.value)' has no hosts", at: name.location, hint: "list its machines under 'hosts:'")
        }
        var datastore: Datastore?
        if let raw = store.datastore {
            datastore = Datastore(rawValue: raw.value)
            if datastore == nil {
                diagnostics.error(
                    "unknown datastore '\(raw.value)'", at: raw.location,
                    hint: Suggestions.didYouMean(raw.value, in: Datastore.allCases.map(\.rawValue))
                        ?? "use sqlite (one server) or etcd (an odd number of servers)")
                return nil
            }
        } else if servers >= 3 {
            datastore = .etcd
        } else if servers == 2 {
            diagnostics.error(
                "store '\(name.value)' has 2 servers", at: name.location,
                hint: "2 servers give no fault tolerance and risk split brain: use 1 (sqlite) or 3 (etcd)")
            return nil
        } else {
            datastore = .sqlite
        }
        let where_ = store.datastore?.location ?? name.location
        switch datastore {
        case .sqlite where servers > 1:
            diagnostics.error(
                "store '\(name.value)' uses sqlite but has \(servers) servers", at: where_,
                hint: "sqlite takes exactly one server; use 'datastore: etcd' with 3 or 5 servers")
        case .etcd where servers > 0 && servers % 2 == 0 && removing.contains { $0.role == .server }:
            // The state a store passes through while a server is taken out (or replaced).
            diagnostics.warning(
                "store '\(name.value)' keeps an even number of servers (\(servers)) once the removal is done", at: where_,
                hint: "\(servers) etcd servers tolerate no more failures than \(servers - 1): add a server or remove one more")
        case .etcd where servers > 0 && servers % 2 == 0:
            diagnostics.error(
                "store '\(name.value)' uses etcd with an even number of servers (\(servers))", at: where_,
                hint: "etcd needs a majority: use 1, 3 or 5 servers (an even count adds risk, not tolerance)")
        default:
            break
        }
        return datastore
    }

    private mutating func resolveHost(_ raw: RawHost, store: String, ssh: RawSSH?, gateways: [String]) -> Host? {
        var role: Role?
        if let rawRole = raw.role {
            role = Role(rawValue: rawRole.value)
            if role == nil {
                diagnostics.error(
                    "invalid role '\(rawRole.value)'", at: rawRole.location,
                    hint: Suggestions.didYouMean(rawRole.value, in: Role.allCases.map(\.rawValue))
                        ?? "a host is either 'server' or 'agent'")
            }
        }
        if let name = raw.name, let problem = Syntax.dnsLabelProblem(name.value) {
            diagnostics.error(
                "host name '\(name.value)' \(problem)", at: name.location,
                hint: "the name becomes the Kubernetes node name: a DNS label such as 'pi-042'")
        }
        if let address = raw.address { checkAddress(address, what: "host address") }
        let labels = resolveLabels(raw.labels)
        var taints: [Taint] = []
        for text in raw.taints ?? [] {
            switch Syntax.parseTaint(text.value) {
            case let .success(taint): taints.append(taint)
            case let .failure(error): diagnostics.error(error.message, at: text.location)
            }
        }
        guard let role, let address = raw.address else { return nil }
        let resolvedSSH = resolveSSH(ssh?.overlaid(with: raw.ssh) ?? raw.ssh, at: raw.location)
        return Host(
            name: raw.name?.value ?? address.value, nodeName: raw.name?.value, address: address.value,
            role: role, ssh: resolvedSSH, labels: labels, taints: taints, gateways: gateways,
            location: raw.location)
    }

    // MARK: values

    private mutating func resolveLabels(_ raw: [(key: Located<String>, value: Located<String>)]?) -> [String: String] {
        var labels: [String: String] = [:]
        for (key, value) in raw ?? [] {
            if let problem = Syntax.labelKeyProblem(key.value) {
                diagnostics.error(problem, at: key.location, hint: "label keys look like 'region' or 'example.com/tier'")
            }
            if let problem = Syntax.labelValueProblem(value.value) {
                diagnostics.error(
                    problem, at: value.location, hint: "label values are at most 63 letters, digits, '-', '_' or '.'")
            }
            labels[key.value] = value.value
        }
        return labels
    }

    private mutating func checkAddress(_ address: Located<String>, what: String) {
        if let problem = Syntax.hostAddressProblem(address.value) {
            diagnostics.error(
                "\(what) '\(address.value)' \(problem)", at: address.location,
                hint: "use one host's IP address or DNS name")
        }
    }

    private mutating func checkPlaybookName(_ name: Located<String>) {
        if let problem = Syntax.dnsLabelProblem(name.value) {
            diagnostics.error(
                "playbook name '\(name.value)' \(problem)", at: name.location,
                hint: "refer to a playbook by its file name without .yaml, e.g. 'baseline'")
        }
    }

    private mutating func resolveSSH(_ raw: RawSSH?, at location: SourceLocation) -> SSHSettings {
        let raw = raw ?? RawSSH()
        let user = raw.user?.value ?? "root"
        if let user = raw.user, user.value.isEmpty || user.value.contains(where: { $0.isWhitespace || $0 == "@" }) {
            diagnostics.error("ssh user '\(user.value)' is not a valid login name", at: user.location)
        }
        if let port = raw.port, !(1...65535).contains(port.value) {
            diagnostics.error("ssh port \(port.value) is out of range", at: port.location, hint: "ports are 1-65535")
        }
        var policy = HostKeyPolicy.strict
        if let rawPolicy = raw.hostKeyPolicy {
            if let parsed = HostKeyPolicy(rawValue: rawPolicy.value) {
                policy = parsed
            } else {
                let known = ["strict", "accept-new", "insecure-ignore"]
                diagnostics.error(
                    "unknown hostKeyPolicy '\(rawPolicy.value)'", at: rawPolicy.location,
                    hint: Suggestions.didYouMean(rawPolicy.value, in: known) ?? "use \(known.joined(separator: ", "))")
            }
        }
        var transport = SSHTransportKind.libssh2
        if let rawTransport = raw.transport {
            if let parsed = SSHTransportKind(rawValue: rawTransport.value) {
                transport = parsed
            } else {
                diagnostics.error(
                    "unknown ssh transport '\(rawTransport.value)'", at: rawTransport.location,
                    hint: "use libssh2 (the fast default) or openssh (the system ssh, for ssh_config, FIDO keys, RSA)")
            }
        }
        for env in [raw.passphraseEnv, raw.sudoPasswordEnv].compactMap({ $0 }) where !Syntax.isEnvironmentName(env.value) {
            diagnostics.error(
                "'\(env.value)' is not an environment variable name", at: env.location,
                hint: "name the variable that holds the secret (e.g. EDGEUP_SUDO_PASSWORD), never the secret itself")
        }
        for (key, timeout) in [("connectTimeout", raw.connectTimeout), ("commandTimeout", raw.commandTimeout)] {
            if let timeout, timeout.value <= 0 {
                diagnostics.error("\(key) must be a positive number of seconds", at: timeout.location)
            }
        }
        let identityFile = raw.identityFile.map { paths.resolve($0.value, writtenIn: $0.location.file) }
        let knownHosts = raw.knownHostsFile.map { paths.resolve($0.value, writtenIn: $0.location.file) }
            ?? paths.resolve("~/.ssh/known_hosts", writtenIn: location.file)
        return SSHSettings(
            user: user, port: raw.port?.value ?? 22, identityFile: identityFile, knownHostsFile: knownHosts,
            hostKeyPolicy: policy, sudo: raw.sudo?.value ?? (user != "root"), transport: transport,
            passphraseEnv: raw.passphraseEnv?.value, sudoPasswordEnv: raw.sudoPasswordEnv?.value,
            useAgent: raw.useAgent?.value ?? true, connectTimeoutSeconds: raw.connectTimeout?.value ?? 10,
            commandTimeoutSeconds: raw.commandTimeout?.value)
    }

    private mutating func resolveK3s(_ raw: RawK3s) -> K3sSettings {
        if let version = raw.version, let channel = raw.channel {
            diagnostics.error(
                "both k3s version '\(version.value)' and channel '\(channel.value)' are set", at: channel.location,
                hint: "pin a version (reproducible) or follow a channel, not both")
        }
        if let version = raw.version, let problem = Syntax.k3sVersionProblem(version.value) {
            diagnostics.error("k3s version '\(version.value)' \(problem)", at: version.location)
        }
        if let channel = raw.channel, channel.value.isEmpty
            || !channel.value.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" })
        {
            diagnostics.error(
                "k3s channel '\(channel.value)' is not a channel name", at: channel.location,
                hint: "channels are names like stable, latest or v1.31")
        }
        let (config, secrets) = resolveSecrets(raw)
        return K3sSettings(
            version: raw.version?.value, channel: raw.channel?.value,
            binary: resolveArtifact(raw.binary), airgapImages: (raw.airgapImages ?? []).compactMap { resolveArtifact($0) },
            installScriptURL: raw.installScriptURL?.value, certificateRenewalDays: raw.certificateRenewalDays?.value,
            config: config, secrets: secrets, registries: resolveRegistries(raw))
    }

    private mutating func resolveArtifact(_ raw: RawArtifact?) -> ArtifactSource? {
        switch raw {
        case nil:
            return nil
        case let .single(path):
            return .single(paths.resolve(path.value, writtenIn: path.location.file))
        case let .perArchitecture(entries):
            var result: [Architecture: String] = [:]
            for entry in entries {
                guard let arch = Architecture(rawValue: entry.arch.value) else {
                    diagnostics.error(
                        "unknown architecture '\(entry.arch.value)'", at: entry.arch.location,
                        hint: "k3s architectures are amd64, arm64 and arm (armv7)")
                    continue
                }
                result[arch] = paths.resolve(entry.path.value, writtenIn: entry.path.location.file)
            }
            return .perArchitecture(result)
        }
    }
}
