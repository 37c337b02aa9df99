import Foundation

/// What must happen on each store to reach the inventory's desired state, computed from facts.
/// A value: `plan` prints it, `--out` saves it, `apply` executes exactly it.
public struct Plan: Sendable, Hashable, Codable {
    /// Bumped on any incompatible change of this JSON shape (documented in docs/PLAN-SCHEMA.md).
    public static let schemaVersion = 1

    public var schemaVersion: Int
    public var edgeupVersion: String
    public var createdAt: Date
    public var inventoryFiles: [String]
    /// Fingerprint of the resolved inventory the plan was made from; a saved plan applies only to it.
    public var inventoryFingerprint: String
    public var stores: [StorePlan]

    public init(inventoryFiles: [String], inventoryFingerprint: String = "", stores: [StorePlan], createdAt: Date = Date()) {
        schemaVersion = Self.schemaVersion
        edgeupVersion = EdgeupVersion.current
        self.createdAt = createdAt
        self.inventoryFiles = inventoryFiles
        self.inventoryFingerprint = inventoryFingerprint
        self.stores = stores
    }

    public var hasChanges: Bool { stores.contains { !$0.actions.isEmpty } }
    public var hasProblems: Bool { stores.contains { !$0.problems.isEmpty } }

    /// How many of each action the whole plan holds.
    public var actionCounts: [ActionKind: Int] {
        var counts: [ActionKind: Int] = [:]
        for action in stores.flatMap(\.actions) { counts[action.kind, default: 0] += 1 }
        return counts
    }
}

/// One store's share of the plan, in the order k3s needs.
public struct StorePlan: Sendable, Hashable, Codable {
    public var store: StoreID
    public var actions: [PlannedAction]
    /// Why (part of) the store cannot be converged now: unreachable hosts, failed preflight checks.
    public var problems: [PlanProblem]
    /// Fingerprint of the facts this plan was computed from; a saved plan is stale when it changes.
    public var factsFingerprint: String
    /// When the hosts' certificates expire, for showing days left; nil when no host reported any
    /// (and in plans saved before it existed).
    public var certificates: StoreCertificates?
    /// Nodes the cluster has that no host of the inventory registers as: shown, never touched;
    /// nil when there are none (and in plans saved before it existed).
    public var unmanagedNodes: [String]?

    public init(
        store: StoreID, actions: [PlannedAction], problems: [PlanProblem], factsFingerprint: String,
        certificates: StoreCertificates? = nil, unmanagedNodes: [String]? = nil
    ) {
        self.store = store
        self.actions = actions
        self.problems = problems
        self.factsFingerprint = factsFingerprint
        self.certificates = certificates
        self.unmanagedNodes = unmanagedNodes
    }

    /// Bytes the store receives from the operator's machine (artifacts): with several hosts
    /// receiving, each artifact once (the others copy it across the store's LAN, `LANRelay`).
    public var uploadBytes: Int {
        let perHost = uploadsPerHost
        return perHost.count > 1 ? perHost.values.max() ?? 0 : perHost.values.reduce(0, +)
    }

    /// How many of the store's hosts receive artifacts.
    public var hostsReceiving: Int { uploadsPerHost.count }

    private var uploadsPerHost: [String: Int] {
        actions.reduce(into: [:]) { totals, action in
            if let bytes = action.bytes, let host = action.host { totals[host.name, default: 0] += bytes }
        }
    }

    public var status: Status {
        if !problems.isEmpty { return .blocked }
        return actions.isEmpty ? .converged : .changes
    }

    public enum Status: String, Sendable, Codable {
        case converged
        case changes
        case blocked
    }
}

/// One step on one host (or on the store's cluster), with the reason it is needed.
public struct PlannedAction: Sendable, Hashable, Codable, CustomStringConvertible {
    public var kind: ActionKind
    /// nil for store-wide actions (playbooks, kubeconfig).
    public var host: HostID?
    public var reason: String
    /// For `apply-playbook`: which rendered unit, and the SHA-256 of its content when planned.
    public var unit: UnitReference?
    /// Bytes the action sends from the operator's machine at most (artifacts); nil: next to none.
    public var bytes: Int?

    public init(_ kind: ActionKind, host: HostID?, reason: String, unit: UnitReference? = nil, bytes: Int? = nil) {
        self.kind = kind
        self.host = host
        self.reason = reason
        self.unit = unit
        self.bytes = bytes
    }

    public var description: String {
        "\(kind.rawValue)\(host.map { " on \($0)" } ?? ""): \(reason)"
    }
}

/// A playbook unit as a plan names it: `apply` re-renders and refuses a unit whose content changed.
public struct UnitReference: Sendable, Hashable, Codable {
    public var id: String
    public var sha256: String

    public init(id: String, sha256: String) {
        self.id = id
        self.sha256 = sha256
    }
}

public enum ActionKind: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case forgetNode = "forget-node"
    case install
    case stageBinary = "stage-binary"
    case snapshot
    case drain
    case upgrade
    case uploadImages = "upload-images"
    case writeScripts = "write-scripts"
    case writeService = "write-service"
    case writeConfig = "write-config"
    case writeRegistries = "write-registries"
    case writeToken = "write-token"
    case writeAgentToken = "write-agent-token"
    case renewCertificates = "renew-certificates"
    case start
    case restart
    case uncordon
    case removeNode = "remove-node"
    case applyPlaybook = "apply-playbook"
    case fetchKubeconfig = "fetch-kubeconfig"

    /// When the store runner performs an action.
    public enum Phase: Sendable {
        /// On every host of the store before any host's other steps (nothing restarts until all succeed).
        case stage
        /// In the host's own steps (servers one at a time, then agents in batches).
        case host
        /// After the hosts converge, one removed host at a time, through the cluster.
        case removal
        /// After the hosts converge (and removed hosts are gone).
        case store
    }

    public var phase: Phase {
        switch self {
        case .stageBinary: .stage
        case .removeNode: .removal
        case .applyPlaybook, .fetchKubeconfig: .store
        default: .host
        }
    }

    /// A host step the store runner performs after the host's readiness gate.
    public var followsReadiness: Bool { self == .uncordon }

    /// Performed by the store runner after the hosts converge, not by a host's own steps.
    public var isStoreWide: Bool { phase == .store || phase == .removal }

    public static func < (a: ActionKind, b: ActionKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Something that stops a host (and so its store) from converging, with what to do about it.
public struct PlanProblem: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var host: HostID?
    public var message: String
    public var hint: String?
    /// What went wrong, for code that must not read `message` (see `PlanProblem+Kind.swift`).
    public var kind: Kind

    public init(host: HostID?, message: String, hint: String? = nil, kind: Kind = .check) {
        self.host = host
        self.message = message
        self.hint = hint
        self.kind = kind
    }

    public var description: String {
        (host.map { "\($0): " } ?? "") + message + (hint.map { " (\($0))" } ?? "")
    }
}
