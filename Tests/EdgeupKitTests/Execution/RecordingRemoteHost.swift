import EdgeSSH
import EdgeupKit
import Foundation

/// A fleet of simulated k3s hosts for execution tests: bare hosts that answer the facts probe, take
/// uploads and service commands, and register as Kubernetes nodes once started. Every command and
/// upload is recorded with one sequence number across all hosts, so tests can check what happened
/// before what. No network, no root: everything is in memory.
actor SimulatedFleet {
    /// What a command or upload was, as far as the tests care.
    enum Step: String, Sendable {
        case facts, lock, install, reachability, readToken, daemonReload, enable, start, restart
        case isActive, readyz, getNode, kubectlApply, playbookRecord, mkdir, remove, logTail, upload, download, other
        /// Not a command: the cluster answered that a node is Ready (recorded on the node's host).
        case nodeReady

        /// Steps that only read; everything else counts as a change to the host.
        var isRead: Bool {
            switch self {
            case .facts, .readToken, .reachability, .isActive, .readyz, .getNode, .logTail, .download, .nodeReady: true
            default: false
            }
        }
    }

    /// When a started node turns Ready in the cluster.
    enum NodeReadiness: Sendable {
        /// This long after its service started; a query before then is answered only then (a slow
        /// API), so a test never sits through `Readiness`' 2 s poll interval.
        case after(Duration)
        /// Never: each node query answers NotReady after `notReadyLatency`.
        case never
    }

    struct Event: Sendable, CustomStringConvertible {
        let seq: Int
        let at: ContinuousClock.Instant
        /// The inventory host name.
        let host: String
        let step: Step
        /// The command line, the uploaded path or the Ready node's name.
        let detail: String
        let failed: Bool

        var description: String { "#\(seq) \(host) \(step.rawValue)\(failed ? " FAILED" : ""): \(detail.prefix(120))" }
    }

    private struct SimulatedHost {
        let host: EdgeupKit.Host
        let store: String
        let readiness: NodeReadiness
        let failing: Step?
        var installed = false
        var started: ContinuousClock.Instant?
        var files: [String: Data] = [:]

        var nodeName: String { host.nodeName ?? host.name }
    }

    static let serverToken = "K10" + String(repeating: "ab", count: 32) + "::server:simulated-cluster-secret"

    private(set) var events: [Event] = []
    private var hosts: [String: SimulatedHost] = [:]
    private let notReadyLatency: Duration

    /// `readiness` and `failing` are keyed by host name; hosts not named become Ready right after their start.
    init(
        _ stores: [Store], readiness: [String: NodeReadiness] = [:], failing: [String: Step] = [:],
        notReadyLatency: Duration = .milliseconds(100)
    ) {
        for store in stores {
            for host in store.hosts {
                hosts[StoreHost(store: store, host: host).label] = SimulatedHost(
                    host: host, store: store.name, readiness: readiness[host.name] ?? .after(.zero), failing: failing[host.name])
            }
        }
        self.notReadyLatency = notReadyLatency
    }

    nonisolated func connector() -> SimulatedConnector { SimulatedConnector(fleet: self) }

    func knows(_ label: String) -> Bool { hosts[label] != nil }

    // MARK: what the hosts do

    func run(_ command: RemoteCommand, on label: String) async -> CommandResult {
        guard var state = hosts[label] else { return Self.result(1, stderr: "no such host \(label)") }
        // Enough to read edgeup's own commands: the words tests look at need no shell quoting.
        let argv = command.command.split(separator: " ").map(String.init)
        let step = Self.classify(command.command, argv)
        let name = state.host.name
        if state.failing == step {
            record(name, step, command.command, failed: true)
            return Self.result(1, stderr: "simulated failure of \(step.rawValue) on \(name)")
        }
        record(name, step, command.command)
        let service = K3sPaths.serviceName(for: state.host.role)
        switch step {
        case .facts:
            return Self.result(0, stdout: facts(state))
        case .lock:
            return Self.result(0, stdout: command.command.contains("echo taken") ? "taken\n" : "")
        case .install:
            state.installed = true
        case .start, .restart:
            guard state.installed, argv.last == service else { return Self.result(1, stderr: "Unit \(argv.last ?? "") not found.") }
            state.started = ContinuousClock.now
            if state.host.role == .server { state.files[K3sPaths.serverToken] = Data((Self.serverToken + "\n").utf8) }
        case .readToken:
            guard let path = argv.last, let content = state.files[path] else { return Self.result(3) }
            return Self.result(0, stdout: String(decoding: content, as: UTF8.self))
        case .isActive:
            return state.started == nil ? Self.result(3, stdout: "inactive\n") : Self.result(0, stdout: "active\n")
        case .readyz:
            return state.started == nil ? Self.result(1, stderr: "connection refused") : Self.result(0, stdout: "ok")
        case .getNode:
            return await node(argv.count > 4 ? argv[4] : "", in: state.store)
        case .kubectlApply:
            guard state.started != nil else { return Self.result(1, stderr: "The connection to the server 127.0.0.1:6443 was refused") }
        case .remove:
            for path in argv.dropFirst(2) { state.files[path] = nil }
        default:
            break
        }
        hosts[label] = state
        return Self.result(0)
    }

    func upload(_ data: Data?, to path: String, on label: String) throws(SSHError) -> UploadOutcome {
        guard var state = hosts[label] else { throw SSHError(.disconnected, hop: label, step: .upload, "no such host") }
        if state.failing == .upload {
            record(state.host.name, .upload, path, failed: true)
            throw SSHError(.transfer, hop: label, step: .upload, "simulated failure of upload on \(state.host.name)")
        }
        record(state.host.name, .upload, path)
        state.files[path] = data ?? Data()
        hosts[label] = state
        return .uploaded(bytes: data?.count ?? 0)
    }

    func download(_ path: String, on label: String) throws(SSHError) -> Data {
        guard let state = hosts[label] else { throw SSHError(.disconnected, hop: label, step: .download, "no such host") }
        record(state.host.name, .download, path)
        guard let data = state.files[path] else {
            throw SSHError(.transfer, hop: label, step: .download, "reading \(path) failed: no such file")
        }
        return data
    }

    /// `k3s kubectl get node NAME -o json`, as the cluster answers it.
    private func node(_ nodeName: String, in store: String) async -> CommandResult {
        guard let state = hosts.values.first(where: { $0.store == store && $0.nodeName == nodeName }),
            let started = state.started
        else {
            return Self.result(1, stderr: #"Error from server (NotFound): nodes "\#(nodeName)" not found"#)
        }
        switch state.readiness {
        case .never:
            try? await Task.sleep(for: notReadyLatency)
            return Self.result(0, stdout: Self.nodeJSON(nodeName, ready: false, server: state.host.role == .server))
        case let .after(delay):
            let ready = started + delay
            if ContinuousClock.now < ready { try? await Task.sleep(until: ready) }
            record(state.host.name, .nodeReady, nodeName)
            return Self.result(0, stdout: Self.nodeJSON(nodeName, ready: true, server: state.host.role == .server))
        }
    }

    private func record(_ host: String, _ step: Step, _ detail: String, failed: Bool = false) {
        events.append(Event(seq: events.count, at: .now, host: host, step: step, detail: detail, failed: failed))
    }

    /// The probe's `key=value` lines for a bare host (see `FactsProbe.parse`).
    private func facts(_ state: SimulatedHost) -> String {
        """
        machine=x86_64
        os_id=debian
        os_version=12
        hostname=\(state.nodeName)
        machine_id=id-\(state.host.name)
        init=systemd
        clock=\(Int(Date().timeIntervalSince1970))
        default_route=1

        """
    }

    private static func nodeJSON(_ name: String, ready: Bool, server: Bool) -> String {
        let roles = server ? #""node-role.kubernetes.io/control-plane":"true","node-role.kubernetes.io/etcd":"true""# : ""
        return #"{"kind":"Node","metadata":{"name":"\#(name)","labels":{\#(roles)}},"status":{"conditions":[{"type":"Ready","status":"\#(ready ? "True" : "False")"}]}}"#
    }

    private static func result(_ status: Int32, stdout: String = "", stderr: String = "") -> CommandResult {
        CommandResult(exitStatus: status, exitSignal: nil, stdout: Data(stdout.utf8), stderr: Data(stderr.utf8))
    }

    /// What edgeup meant by a command line (see `HostOperator`, `Readiness`, `TokenSource`, `StoreLock`).
    static func classify(_ command: String, _ argv: [String]) -> Step {
        if argv.first == "sh" {
            if command.contains("uname -m") { return .facts }
            if command.contains("/var/lib/edgeup/store.lock") { return .lock }
            if command.contains("head -c 4096") { return .readToken }
            if command.contains("INSTALL_K3S_SKIP_START") { return .install }
            if command.hasSuffix("/cacerts") { return .reachability }
            if command.contains(K3sPaths.playbookRecord) || command.contains(PlaybookRecord.host) { return .playbookRecord }
            return .other
        }
        switch (argv.first, argv.count > 1 ? argv[1] : nil) {
        case ("systemctl", "daemon-reload"): return .daemonReload
        case ("systemctl", "enable"): return .enable
        case ("systemctl", "start"): return .start
        case ("systemctl", "restart"): return .restart
        case ("systemctl", "is-active"): return .isActive
        case ("mkdir", _): return .mkdir
        case ("rm", _): return .remove
        case ("journalctl", _): return .logTail
        case (K3sPaths.binary, "kubectl"):
            let verb = Array(argv.dropFirst(2).prefix(2))
            if verb == ["get", "--raw"] { return .readyz }
            if verb == ["get", "node"] { return .getNode }
            if verb.first == "apply" { return .kubectlApply }
            return .other
        default: return .other
        }
    }
}

/// One logged-in simulated host: every call goes to its fleet, which records it.
struct RecordingRemoteHost: RemoteHost {
    let label: String
    let fleet: SimulatedFleet
    var transport: SSHTransportKind { .libssh2 }

    func run(_ command: RemoteCommand) async throws(SSHError) -> CommandResult {
        await fleet.run(command, on: label)
    }

    func upload(file: String, to remotePath: String, mode: UInt16, sudo: SudoMode) async throws(SSHError) -> UploadOutcome {
        try await fleet.upload(nil, to: remotePath, on: label)
    }

    func upload(data: Data, to remotePath: String, mode: UInt16, sudo: SudoMode) async throws(SSHError) -> UploadOutcome {
        try await fleet.upload(data, to: remotePath, on: label)
    }

    func download(_ remotePath: String, sudo: SudoMode, maxBytes: Int) async throws(SSHError) -> Data {
        try await fleet.download(remotePath, on: label)
    }

    func close() async {}
}

/// Hands out the fleet's hosts in place of SSH logins.
struct SimulatedConnector: HostConnector {
    let fleet: SimulatedFleet
    var warnings: [String] { [] }
    var bytesUploaded: Int { 0 }

    func connect(_ target: SSHTarget) async throws(SSHError) -> any RemoteHost {
        guard await fleet.knows(target.host.label) else {
            throw SSHError(.connectRefused, hop: target.host.label, step: .connect, "not a simulated host")
        }
        return RecordingRemoteHost(label: target.host.label, fleet: fleet)
    }

    func shutdown() async {}
}
