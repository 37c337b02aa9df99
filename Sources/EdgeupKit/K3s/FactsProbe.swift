import EdgeCore
import Foundation

/// The read-only script that gathers a host's facts in one round trip, and the parser for its
/// output. Pure: the script is text, the parser takes text — both testable without a host.
public enum FactsProbe {
    /// Ports k3s needs free before it starts (API, kubelet, etcd client/peer); the probe reports
    /// only these.
    public static let requiredPorts = [6443, 10250, 2379, 2380]

    /// awk: one `config_key=KEY SHA256  -` line per top-level key of a config.yaml, split as
    /// `NodeConfig.keyFingerprints(ofText:)` splits it, each block hashed by sha256sum.
    public static let configKeysProgram = #"""
        function flush() { if (key != "") { printf "config_key=%s ", key; fflush(); printf "%s", block | "sha256sum"; close("sha256sum") } }
        /^[^ \t#-]/ { flush(); key = $0; sub(/:.*/, "", key); block = "" }
        key != "" { block = block $0 "\n" }
        END { flush() }
        """#

    /// sed: the base64 lines of a PEM file's first certificate (its DER, once the line breaks go),
    /// without the armour; nothing when the file holds none.
    public static let firstCertificateProgram = "/^-----BEGIN CERTIFICATE-----/,/^-----END CERTIFICATE-----/{/^-----END/q;/^-----BEGIN/d;p;}"

    /// Base64 characters sent per certificate at most (a k3s certificate needs under 1,000).
    static let certificateLimit = 16_384

    /// A POSIX sh script (run as root: config.yaml and tokens are root-only) printing `key=value`
    /// lines. Tokens and config values never leave the host: only their SHA-256 is printed (per
    /// config key as `NodeConfig.keyFingerprints(ofText:)` splits the file).
    public static func script(for role: Role) -> String {
        let service = K3sPaths.serviceName(for: role)
        let unit = "\(K3sPaths.systemdUnit(for: role)) \(K3sPaths.systemdEnvironment(for: role))"
        let openrc = "\(K3sPaths.openRCScript(for: role)) \(K3sPaths.openRCEnvironment(for: role))"
        return """
            sha() { sha256sum "$@" 2>/dev/null | cut -d' ' -f1; }
            echo "machine=$(uname -m)"
            if [ -r /etc/os-release ]; then . /etc/os-release; echo "os_id=$ID"; echo "os_version=$VERSION_ID"; fi
            echo "hostname=$(cat /proc/sys/kernel/hostname)"
            echo "machine_id=$(cat /etc/machine-id 2>/dev/null)"
            if [ -d /run/systemd/system ]; then echo "init=systemd"; elif [ -x /sbin/openrc-run ]; then echo "init=openrc"; fi
            echo "clock=$(date +%s)"
            if [ -x \(K3sPaths.binary) ]; then
                echo "k3s_version=$(\(K3sPaths.binary) --version 2>/dev/null | head -n 1)"
                echo "k3s_sha256=$(sha \(K3sPaths.binary))"
            fi
            if [ -f \(K3sPaths.config) ]; then
                echo "config_sha256=$(sha \(K3sPaths.config))"
                awk \(ShellQuote.quote(configKeysProgram)) \(K3sPaths.config)
            fi
            [ -f \(K3sPaths.registries) ] && echo "registries=$(sha \(K3sPaths.registries) | cut -c1-16)"
            fp() { tr -d '\\n' | sha256sum | cut -c1-16; }
            [ -f \(K3sPaths.joinTokenFile) ] && echo "join_token=$(fp < \(K3sPaths.joinTokenFile))"
            [ -f \(K3sPaths.serverToken) ] && echo "server_token=$(fp < \(K3sPaths.serverToken))"
            if [ -f \(K3sPaths.agentTokenFile) ]; then
                echo "agent_token=$(fp < \(K3sPaths.agentTokenFile))"
                [ -f \(K3sPaths.serverToken) ] && echo "agent_join_token=$({ printf '%s::node:' "$(sed -n '1s/::.*//p' \(K3sPaths.serverToken))"; cat \(K3sPaths.agentTokenFile); } | fp)"
            fi
            [ -f \(K3sPaths.cordonedMarker) ] && echo "cordoned=1"
            [ -f \(K3sPaths.pendingRestartFile) ] && echo "restart_pending=$(head -c 512 \(K3sPaths.pendingRestartFile) | tr '\\n' ' ')"
            if [ -f \(K3sPaths.systemdUnit(for: role)) ]; then
                echo "service_sha256=$(cat \(unit) 2>/dev/null | sha256sum | cut -d' ' -f1)"
                systemctl is-active --quiet \(service) && echo "service_active=1"
                systemctl is-enabled --quiet \(service) 2>/dev/null && echo "service_enabled=1"
            elif [ -f \(K3sPaths.openRCScript(for: role)) ]; then
                echo "service_sha256=$(cat \(openrc) 2>/dev/null | sha256sum | cut -d' ' -f1)"
                rc-service \(service) status >/dev/null 2>&1 && echo "service_active=1"
                rc-update show default 2>/dev/null | grep -qw \(service) && echo "service_enabled=1"
            fi
            if [ -f \(K3sPaths.killallScript) ]; then
                echo "scripts_sha256=$(cat \(K3sPaths.killallScript) \(K3sPaths.uninstallScript(for: role)) 2>/dev/null | sha256sum | cut -d' ' -f1)"
            fi
            for image in \(K3sPaths.airgapImages)/*; do
                [ -f "$image" ] || continue
                stamp=$(stat -c '%s %Y' -- "$image")
                echo "image=${stamp%% *} ${image##*/}"
                [ -f \(ImagesRecord.path) ] && awk -v n="${image##*/}" -v s="$stamp" '$4 == n && $2 " " $3 == s { print "image_sha256=" $1 " " n }' \(ImagesRecord.path)
            done
            for cert in \(K3sPaths.certificates(for: role).map(\.path).joined(separator: " ")); do
                [ -f "$cert" ] && echo "cert=${cert##*/} $(sed -n \(ShellQuote.quote(firstCertificateProgram)) "$cert" | tr -d '\\r\\n ' | head -c \(certificateLimit))"
            done
            for record in \(K3sPaths.playbookRecord) \(PlaybookRecord.host); do
                [ -f "$record" ] || continue
                while read -r digest key; do
                    case "$key" in
                    \(PlaybookRecord.filePrefix)*) digest=$(sha "${key#\(PlaybookRecord.filePrefix)}"); echo "playbook=${digest:--} $key" ;;
                    ?*) echo "playbook=$digest $key" ;;
                    esac
                done < "$record"
            done
            for snapshot in \(K3sPaths.snapshots)/\(K3sPaths.snapshotPrefix)*; do
                [ -e "$snapshot" ] && echo "snapshot=${snapshot##*/}"
            done
            awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); print "listen=" a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
            awk 'NR > 1 && $2 == "00000000" { found = 1 } END { if (found) print "default_route=1" }' /proc/net/route 2>/dev/null
            if [ "\(role.rawValue)" = server ] && [ -x \(K3sPaths.binary) ] && [ -f \(K3sPaths.kubeconfig) ]; then
                \(K3sPaths.binary) kubectl get --raw /readyz --request-timeout=5s >/dev/null 2>&1 && echo "api_ready=1"
                echo "nodes_b64=$(\(K3sPaths.binary) kubectl get nodes -o json --request-timeout=5s 2>/dev/null | base64 | tr -d '\\n')"
            fi
            exit 0
            """
    }

    /// Parses the script's output. Unknown keys are ignored so older edgeups read newer probes.
    public static func parse(_ output: String) -> HostFacts {
        var values: [String: String] = [:]
        var ports = Set<Int>()
        var images: [String: Int] = [:]
        var imageSHA256: [String: String] = [:]
        var playbooks: [String: String] = [:]
        var configKeys: [String: String] = [:]
        var snapshots: [String] = []
        var certificates = CertificateFacts()
        for line in output.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals])
            let value = String(line[line.index(after: equals)...])
            switch key {
            case "listen":
                if let port = Int(value, radix: 16), requiredPorts.contains(port) { ports.insert(port) }
            case "image":
                let parts = value.split(separator: " ", maxSplits: 1)
                if parts.count == 2, let size = Int(parts[0]) { images[String(parts[1])] = size }
            case "image_sha256":
                let parts = value.split(separator: " ", maxSplits: 1)
                if parts.count == 2, parts[0].count == 64, parts[0].allSatisfy(\.isHexDigit) { imageSHA256[String(parts[1])] = String(parts[0]) }
            case "playbook":
                let parts = value.split(separator: " ", maxSplits: 1)
                if parts.count == 2 { playbooks[String(parts[1])] = String(parts[0]) }
            case "snapshot":
                // A file name the host reports: kept only when it is one edgeup could have made.
                if value.hasPrefix(K3sPaths.snapshotPrefix), value.count <= 200,
                    value.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == ".") })
                {
                    snapshots.append(value)
                }
            case "cert":
                // `NAME BASE64-DER`: only the files the probe reads, and only certificates that parse.
                let parts = value.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, let isAuthority = certificateFiles[String(parts[0])],
                    let der = Data(base64Encoded: String(parts[1])), let expiry = CertificateExpiry(der: der)
                else { continue }
                if isAuthority {
                    certificates.authorities[String(parts[0])] = expiry.notAfter
                } else {
                    certificates.leaves[String(parts[0])] = expiry.notAfter
                }
            case "config_key":
                // `KEY SHA256  -`: a key name is shown in plans, so only flag-shaped names are kept.
                let parts = value.split(separator: " ")
                if parts.count >= 2, parts[0].allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "+") }) {
                    configKeys[String(parts[0])] = String(parts[1])
                }
            default:
                values[key] = value
            }
        }
        func nonEmpty(_ key: String) -> String? { values[key].flatMap { $0.isEmpty ? nil : $0 } }
        let nodes = nonEmpty("nodes_b64").flatMap { Data(base64Encoded: $0) }.flatMap(parseNodes)
        var k3s = K3sFacts(
            version: nonEmpty("k3s_version").flatMap(K3sVersion.init(versionOutput:)),
            binarySHA256: nonEmpty("k3s_sha256"),
            configSHA256: nonEmpty("config_sha256"),
            configKeys: nonEmpty("config_sha256").map { _ in configKeys },
            joinTokenFingerprint: nonEmpty("join_token"),
            serverTokenFingerprint: nonEmpty("server_token"),
            agentTokenFingerprint: nonEmpty("agent_token"),
            agentJoinTokenFingerprint: nonEmpty("agent_join_token"),
            pendingRestart: nonEmpty("restart_pending").map { $0.trimmingCharacters(in: .whitespaces).shownAsUntrusted },
            serviceFilesSHA256: nonEmpty("service_sha256"),
            serviceActive: values["service_active"] == "1",
            serviceEnabled: values["service_enabled"] == "1",
            scriptsSHA256: nonEmpty("scripts_sha256"),
            airgapImages: images,
            apiReady: values["api_ready"] == "1",
            nodes: nodes, snapshots: snapshots.isEmpty ? nil : snapshots, cordonedByEdgeup: values["cordoned"] == "1" ? true : nil,
            certificates: certificates)
        k3s.registriesFingerprint = nonEmpty("registries")
        k3s.airgapImageSHA256 = imageSHA256
        let machine = values["machine"] ?? ""
        return HostFacts(
            machine: machine, architecture: ExecutableArchitecture.fromUname(machine),
            osID: nonEmpty("os_id"), osVersion: nonEmpty("os_version"), hostname: values["hostname"] ?? "",
            machineID: nonEmpty("machine_id"), initSystem: nonEmpty("init").flatMap(InitSystem.init(rawValue:)),
            clock: nonEmpty("clock").flatMap(Double.init), k3s: k3s, listeningPorts: ports.sorted(),
            hasDefaultRoute: values["default_route"] == "1", playbooks: playbooks)
    }

    /// The certificate files a probe reports, by name → whether it is an authority.
    static let certificateFiles: [String: Bool] = Dictionary(
        Role.allCases.flatMap(K3sPaths.certificates(for:)).map { ($0.name, $0.isAuthority) }, uniquingKeysWith: { $1 })

    /// `kubectl get nodes -o json` → the few fields a plan needs.
    static func parseNodes(_ json: Data) -> [NodeFacts]? {
        guard let root = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
            let items = root["items"] as? [[String: Any]]
        else { return nil }
        return items.compactMap(NodeFacts.init(kubernetesObject:))
    }
}

extension NodeFacts {
    /// Reads a Node object as the Kubernetes API returns it (`kubectl get node NAME -o json`).
    public init?(kubernetesObject item: [String: Any]) {
        let metadata = item["metadata"] as? [String: Any]
        guard let name = metadata?["name"] as? String else { return nil }
        let labels = metadata?["labels"] as? [String: String] ?? [:]
        let prefix = "node-role.kubernetes.io/"
        let status = item["status"] as? [String: Any]
        let conditions = status?["conditions"] as? [[String: Any]] ?? []
        let info = status?["nodeInfo"] as? [String: Any]
        let addresses = status?["addresses"] as? [[String: Any]] ?? []
        func condition(_ type: String) -> Bool? {
            conditions.first { $0["type"] as? String == type }.map { $0["status"] as? String == "True" }
        }
        self.init(
            name: name, ready: condition("Ready") ?? false,
            roles: labels.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }.sorted(),
            kubeletVersion: info?["kubeletVersion"] as? String,
            internalIP: addresses.first { $0["type"] as? String == "InternalIP" }?["address"] as? String,
            etcdVoter: condition("EtcdIsVoter"),
            machineID: (info?["machineID"] as? String).flatMap { $0.isEmpty ? nil : $0 })
    }
}
