/// What was observed on one host: a value, printable and serialisable, gathered read-only.
public struct HostFacts: Sendable, Hashable, Codable {
    public var machine: String
    public var architecture: Architecture?
    public var osID: String?
    public var osVersion: String?
    public var hostname: String
    public var machineID: String?
    public var initSystem: InitSystem?
    /// The host's clock (seconds since 1970) when probed.
    public var clock: Double?
    /// Host clock minus the operator's clock at the probe, for skew checks between hosts.
    public var clockOffset: Double?
    public var k3s: K3sFacts
    /// TCP ports something listens on (only the ones k3s needs are reported).
    public var listeningPorts: [Int]
    public var hasDefaultRoute: Bool
    /// What edgeup's playbooks last applied here, by record key → SHA-256 (files: of the file as
    /// it is now, so an edited file shows as drift). See `PlaybookRecord`.
    public var playbooks: [String: String]

    public init(
        machine: String, architecture: Architecture?, osID: String? = nil, osVersion: String? = nil,
        hostname: String, machineID: String? = nil, initSystem: InitSystem?, clock: Double? = nil, clockOffset: Double? = nil,
        k3s: K3sFacts = K3sFacts(), listeningPorts: [Int] = [], hasDefaultRoute: Bool = true,
        playbooks: [String: String] = [:]
    ) {
        self.machine = machine
        self.architecture = architecture
        self.osID = osID
        self.osVersion = osVersion
        self.hostname = hostname
        self.machineID = machineID
        self.initSystem = initSystem
        self.clock = clock
        self.clockOffset = clockOffset
        self.k3s = k3s
        self.listeningPorts = listeningPorts
        self.hasDefaultRoute = hasDefaultRoute
        self.playbooks = playbooks
    }
}

/// The k3s side of a host's facts. Secrets never appear here: the join token is known only by a
/// short fingerprint, config.yaml only by per-key fingerprints.
public struct K3sFacts: Sendable, Hashable, Codable {
    public var version: K3sVersion?
    public var binarySHA256: String?
    public var configSHA256: String?
    public var configKeys: [String: String]?
    /// registries.yaml, by the first 16 hex digits of its SHA-256 (it holds credentials).
    public var registriesFingerprint: String?
    public var joinTokenFingerprint: String?
    /// Present on servers that have formed or joined a cluster.
    public var serverTokenFingerprint: String?
    /// Servers: the agent token's secret edgeup keeps for `agent-token-file`.
    public var agentTokenFingerprint: String?
    /// Servers: the token agents must hold (the agent secret in the secure K10 form), so a plan can
    /// tell an agent that still holds the server token.
    public var agentJoinTokenFingerprint: String?
    /// Why a restart that an earlier run started is still owed (`K3sPaths.pendingRestartFile`).
    public var pendingRestart: String?
    public var serviceFilesSHA256: String?
    public var serviceActive: Bool
    public var serviceEnabled: Bool
    public var scriptsSHA256: String?
    /// Images tarballs present, by file name, with their sizes.
    public var airgapImages: [String: Int]
    /// The SHA-256 edgeup verified for each tarball, by file name, while the file still has the
    /// size and mtime it had then (`ImagesRecord`); nil in facts older than this.
    public var airgapImageSHA256: [String: String]?
    public var apiReady: Bool
    /// The cluster's nodes as this server sees them (servers only, when the API answers).
    public var nodes: [NodeFacts]?
    /// Servers: the pre-upgrade snapshots edgeup took there (file names, oldest first); nil when
    /// none (absent from facts JSON, which older facts lack).
    public var snapshots: [String]?
    /// edgeup cordoned this node for an upgrade and has not uncordoned it yet (nil: it did not).
    public var cordonedByEdgeup: Bool?
    /// When the node's k3s certificates expire (`K3sPaths.certificates(for:)`).
    public var certificates: CertificateFacts

    public init(
        version: K3sVersion? = nil, binarySHA256: String? = nil, configSHA256: String? = nil,
        configKeys: [String: String]? = nil, joinTokenFingerprint: String? = nil,
        serverTokenFingerprint: String? = nil, agentTokenFingerprint: String? = nil,
        agentJoinTokenFingerprint: String? = nil, pendingRestart: String? = nil,
        serviceFilesSHA256: String? = nil, serviceActive: Bool = false,
        serviceEnabled: Bool = false, scriptsSHA256: String? = nil, airgapImages: [String: Int] = [:],
        apiReady: Bool = false, nodes: [NodeFacts]? = nil, snapshots: [String]? = nil,
        cordonedByEdgeup: Bool? = nil, certificates: CertificateFacts = CertificateFacts()
    ) {
        self.version = version
        self.binarySHA256 = binarySHA256
        self.configSHA256 = configSHA256
        self.configKeys = configKeys
        self.joinTokenFingerprint = joinTokenFingerprint
        self.serverTokenFingerprint = serverTokenFingerprint
        self.agentTokenFingerprint = agentTokenFingerprint
        self.agentJoinTokenFingerprint = agentJoinTokenFingerprint
        self.pendingRestart = pendingRestart
        self.serviceFilesSHA256 = serviceFilesSHA256
        self.serviceActive = serviceActive
        self.serviceEnabled = serviceEnabled
        self.scriptsSHA256 = scriptsSHA256
        self.airgapImages = airgapImages
        self.apiReady = apiReady
        self.nodes = nodes
        self.snapshots = snapshots
        self.cordonedByEdgeup = cordonedByEdgeup
        self.certificates = certificates
    }

    public var installed: Bool { version != nil || binarySHA256 != nil }
}

/// One node of a cluster, as the Kubernetes API reports it.
public struct NodeFacts: Sendable, Hashable, Codable {
    public var name: String
    public var ready: Bool
    public var roles: [String]
    public var kubeletVersion: String?
    public var internalIP: String?
    /// The `EtcdIsVoter` condition k3s sets on etcd servers (k3s ≥ v1.25.16…); nil when absent.
    public var etcdVoter: Bool?
    /// `status.nodeInfo.machineID`: the /etc/machine-id of the machine the kubelet last ran on.
    public var machineID: String?

    public init(
        name: String, ready: Bool, roles: [String], kubeletVersion: String? = nil, internalIP: String? = nil,
        etcdVoter: Bool? = nil, machineID: String? = nil
    ) {
        self.name = name
        self.ready = ready
        self.roles = roles
        self.kubeletVersion = kubeletVersion
        self.internalIP = internalIP
        self.etcdVoter = etcdVoter
        self.machineID = machineID
    }

    /// A member of the store's embedded etcd (k3s labels etcd servers with the etcd role).
    public var isEtcdMember: Bool { roles.contains("etcd") }
    /// Whether etcd counts the member as started: Ready and not a learner or unhealthy voter.
    public var isLiveEtcdMember: Bool { isEtcdMember && ready && etcdVoter != false }
}

/// A host's facts, or why they could not be gathered: unreachable hosts are part of the answer.
public enum HostObservation: Sendable, Hashable, Codable {
    case observed(HostFacts)
    case unreachable(String)

    public var facts: HostFacts? {
        if case let .observed(facts) = self { return facts }
        return nil
    }
}
