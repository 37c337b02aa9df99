/// k3s, as edgeup installs and runs it: its files (`K3sPaths`), probe (`FactsProbe`), installer,
/// secure tokens and its bundled kubectl.
public struct K3sDistribution: Distribution {
    public init() {}

    public var name: String { "k3s" }

    public var files: DistributionFiles {
        DistributionFiles(
            binary: K3sPaths.binary, stagedBinary: K3sPaths.stagedBinary, previousBinary: K3sPaths.previousBinary,
            snapshots: K3sPaths.snapshots, sqliteDatastore: K3sPaths.sqliteDatastore, snapshotPrefix: K3sPaths.snapshotPrefix,
            configDirectory: K3sPaths.configDirectory, config: K3sPaths.config, registries: K3sPaths.registries,
            joinToken: K3sPaths.joinTokenFile, agentToken: K3sPaths.agentTokenFile, serverToken: K3sPaths.serverToken,
            pendingRestart: K3sPaths.pendingRestartFile, cordonedMarker: K3sPaths.cordonedMarker, kubeconfig: K3sPaths.kubeconfig,
            airgapImages: K3sPaths.airgapImages, autoDeployManifests: K3sPaths.autoDeployManifests,
            killallScript: K3sPaths.killallScript,
            uninstallScripts: Dictionary(uniqueKeysWithValues: Role.allCases.map { ($0, K3sPaths.uninstallScript(for: $0)) }),
            clusterPlaybookRecord: K3sPaths.playbookRecord)
    }

    public func serviceName(for role: Role) -> String {
        K3sPaths.serviceName(for: role)
    }

    public func desiredState(_ host: Host, in store: Store, mode: InstallMode, initSystem: InitSystem) -> HostDesiredState {
        HostDesiredState(host: host, store: store, mode: mode, initSystem: initSystem)
    }

    public func joinURL(for store: Store) -> String? {
        store.joinURL
    }

    /// Servers need the API and kubelet ports, and etcd's client and peer ports when they run
    /// embedded etcd; agents only the kubelet's.
    public func requiredPorts(for role: Role, datastore: Datastore) -> [Int] {
        guard role == .server else { return [10250] }
        return FactsProbe.requiredPorts.filter { datastore == .etcd || ($0 != 2379 && $0 != 2380) }
    }

    public func probeScript(for role: Role) -> String {
        FactsProbe.script(for: role)
    }

    public func parseFacts(_ output: String) -> HostFacts {
        FactsProbe.parse(output)
    }

    public func installer(for host: Host, in store: Store, version: String?, channel: String?, scriptURL: String) -> HostScript {
        var environment = ["INSTALL_K3S_SKIP_START=true", "INSTALL_K3S_EXEC=\(host.role == .server ? "server" : "agent")"]
        if let version { environment.append("INSTALL_K3S_VERSION=\(version)") }
        if let channel { environment.append("INSTALL_K3S_CHANNEL=\(channel)") }
        if host.role == .agent, let url = store.joinURL {
            // The installer insists on a server URL for agents; the token stays in its 0600 file.
            environment += ["K3S_URL=\(url)", "K3S_TOKEN_FILE=\(K3sPaths.joinTokenFile)"]
        }
        // $1 is the script's URL, the rest the installer's environment.
        return HostScript(
            """
            set -e
            url=$1; shift
            script=$(mktemp)
            trap 'rm -f "$script"' EXIT
            if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 3 -o "$script" "$url"; else wget -qO "$script" "$url"; fi
            env "$@" sh "$script"
            """, [scriptURL] + environment)
    }

    /// k3s serves kubectl, crictl and ctr from its one binary when called by those names.
    public var afterBinaryUpload: HostScript? {
        HostScript(#"for link in "$@"; do [ -e "$link" ] || ln -s k3s "$link"; done"#, K3sPaths.links)
    }

    public func kubectl(_ arguments: [String]) -> [String] {
        [K3sPaths.binary, "kubectl"] + arguments
    }

    public func etcdSnapshot(name: String) -> [String] {
        [K3sPaths.binary, "etcd-snapshot", "save", "--name", name]
    }

    /// k3s's documented renewal: run while k3s is stopped; the next start issues new certificates.
    public func rotateCertificates() -> [String] {
        [K3sPaths.binary, "certificate", "rotate"]
    }

    /// The secure form `K10<CA hash>::<user>:<secret>`: a joiner verifies the server's CA with it.
    public func isSecureServerToken(_ token: String) -> Bool {
        token.hasPrefix("K10") && token.contains("::")
    }

    public func agentJoinToken(serverToken: String, agentSecret: String) -> String {
        let prefix = serverToken.range(of: "::").map { serverToken[..<$0.lowerBound] } ?? Substring(serverToken)
        return "\(prefix)::node:\(agentSecret)"
    }
}
