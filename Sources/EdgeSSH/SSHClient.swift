import CLibSSH2
import EdgeCore
import Foundation

/// One per run: owns the event reactor, the connection limit and the live gateway connections.
public actor SSHClient {
    public nonisolated let options: SSHClientOptions
    let reactor: Reactor
    private let limiter: AsyncLimiter
    private let warningList = Locked([String]())
    private let uploaded = Locked(0)
    private let passphrases = Locked([String: Secret]())
    /// Keyed by the hop chain (outermost first), so hosts behind one gateway share its connection.
    private var gateways: [[SSHHop]: Gateway] = [:]
    private var controlDirectory: String?
    private var controlIndex = 0
    private let totalPacer: TransferPacer?
    private var groupPacers: [String: TransferPacer] = [:]

    enum GatewayConnection: Sendable {
        case libssh2(LibSSH2Connection)
        case openssh(OpenSSHSession)
    }

    private struct Gateway: Sendable {
        let connection: Task<Result<GatewayConnection, SSHError>, Never>
        /// Paces handshakes through this gateway, below its sshd's MaxStartups.
        let handshakes: AsyncLimiter
    }

    public init(options: SSHClientOptions = SSHClientOptions()) {
        _ = LibSSH2Process.ready
        self.options = options
        reactor = Reactor()
        limiter = AsyncLimiter(limit: options.maxConcurrentConnections)
        totalPacer = options.uploadRate.map { TransferPacer(bytesPerSecond: $0) }
    }

    init(options: SSHClientOptions, poller: any EventPoller) {
        _ = LibSSH2Process.ready
        self.options = options
        reactor = Reactor(poller: poller)
        limiter = AsyncLimiter(limit: options.maxConcurrentConnections)
        totalPacer = options.uploadRate.map { TransferPacer(bytesPerSecond: $0) }
    }

    /// A client dropped without `shutdown()` still stops its reactor thread.
    deinit {
        reactor.shutdown()
        if let controlDirectory { try? FileManager.default.removeItem(atPath: controlDirectory) }
    }

    /// Bytes the client's uploads sent so far (file content only; resumed parts not sent again).
    public nonisolated var bytesUploaded: Int { uploaded.withLock { $0 } }

    /// Loud notices the CLI must print, e.g. hops whose host key is not checked.
    public nonisolated var warnings: [String] { warningList.withLock { $0 } }

    /// Logs in to `target.host`, through its gateways if any. Waits for a free connection slot.
    public func connect(_ target: SSHTarget) async throws(SSHError) -> any RemoteHost {
        for hop in target.gateways + [target.host] where hop.hostKeyPolicy == .insecureIgnore {
            let warning = "WARNING: host key checking is OFF for \(hop.label) (\(hop.address):\(hop.port)): anyone on the network path can impersonate it (host key policy insecure-ignore)"
            warningList.withLock { if !$0.contains(warning) { $0.append(warning) } }
        }
        guard await limiter.acquire() else {
            throw SSHError(.cancelled, hop: target.host.label, step: .connect, "cancelled while waiting for a connection slot")
        }
        do throws(SSHError) {
            let session = try await open(target)
            let limits = SSHRemoteHost.CommandLimits(operatorLimit: options.commandTimeout, fallback: options.defaultCommandTimeout)
            return SSHRemoteHost(
                session: session, limits: limits, pacing: pacing(for: target.uploadGroup),
                onUpload: { [uploaded] bytes in uploaded.withLock { $0 += bytes } }
            ) { [limiter] in limiter.release() }
        } catch {
            limiter.release()
            throw error
        }
    }

    /// The run's pacer and the group's, as the options ask for them.
    private func pacing(for group: String?) -> UploadPacing {
        var pacing = UploadPacing(pacers: totalPacer.map { [$0] } ?? [])
        if let group, let rate = options.uploadRatePerGroup {
            let pacer = groupPacers[group] ?? TransferPacer(bytesPerSecond: rate)
            groupPacers[group] = pacer
            pacing.pacers.append(pacer)
        }
        return pacing
    }

    /// Closes the gateways and stops the reactor; hosts still open fail their next operation.
    public func shutdown() async {
        for gateway in gateways.values {
            switch await gateway.connection.value {
            case .success(.libssh2(let connection)): await connection.close()
            case .success(.openssh(let session)): await session.close()
            case .failure: break
            }
        }
        gateways = [:]
        reactor.shutdown()
        if let controlDirectory { try? FileManager.default.removeItem(atPath: controlDirectory) }
        controlDirectory = nil
    }

    private func open(_ target: SSHTarget) async throws(SSHError) -> any TransportSession {
        guard !target.gateways.isEmpty else { return try await login(target.host, via: nil) }
        // The whole chain runs on the host's transport.
        let chain = target.gateways.map { hop -> SSHHop in
            var hop = hop
            hop.transport = target.host.transport
            return hop
        }
        let (connection, handshakes) = try await gateway(chain, for: target.host.label)
        guard await handshakes.acquire() else {
            throw SSHError(.cancelled, hop: target.host.label, step: .connect, "cancelled while waiting for a handshake slot")
        }
        defer { handshakes.release() }
        return try await login(target.host, via: connection)
    }

    /// The live connection for `chain`, started once and shared; a dead one is replaced. Errors
    /// name `label`, the hop behind the chain.
    func gateway(_ chain: [SSHHop], for label: String) async throws(SSHError) -> (GatewayConnection, AsyncLimiter) {
        if let existing = gateways[chain] {
            switch await existing.connection.value {
            case .success(let connection):
                if case .libssh2(let c) = connection, await !c.isUsable {
                    if gateways[chain]?.connection == existing.connection { gateways[chain] = nil }
                    return try await gateway(chain, for: label)
                }
                return (connection, existing.handshakes)
            case .failure(let error):
                throw Self.viaGateway(error, label: label)
            }
        }
        let entry = Gateway(connection: Task { await self.startGateway(chain) },
                            handshakes: AsyncLimiter(limit: options.maxHandshakesPerGateway))
        gateways[chain] = entry
        return try await gateway(chain, for: label)
    }

    private func startGateway(_ chain: [SSHHop]) async -> Result<GatewayConnection, SSHError> {
        do throws(SSHError) {
            var parent: GatewayConnection?
            var permits: AsyncLimiter?
            if chain.count > 1 {
                (parent, permits) = try await gateway(Array(chain.dropLast()), for: chain.last!.label)
                _ = await permits?.acquire()
            }
            defer { permits?.release() }
            let session = try await login(chain.last!, via: parent)
            if let connection = session as? LibSSH2Connection { return .success(.libssh2(connection)) }
            if let connection = session as? OpenSSHSession { return .success(.openssh(connection)) }
            return .failure(SSHError(.protocolError, hop: chain.last!.label, step: .connect, "unexpected transport"))
        } catch {
            return .failure(error)
        }
    }

    private static func viaGateway(_ error: SSHError, label: String) -> SSHError {
        guard error.hop != label else { return error }
        return SSHError(error.kind, hop: label, step: .connect, "gateway \(error.hop) failed at \(error.step.rawValue): \(error.message)", hint: error.hint)
    }

    private func login(_ hop: SSHHop, via gateway: GatewayConnection?) async throws(SSHError) -> any TransportSession {
        let deadline = Deadline(options.connectTimeout)
        switch hop.transport {
        case .libssh2:
            let fd: Int32
            if case .libssh2(let gatewayConnection) = gateway {
                fd = try await gatewayConnection.openTunnel(to: hop.address, port: hop.port, for: hop.label, deadline: deadline)
            } else {
                fd = try await TCPConnector.connect(hop, reactor: reactor, deadline: deadline)
            }
            let connection = LibSSH2Connection(hop: hop, fd: fd, reactor: reactor)
            let context = LoginContext(keepaliveInterval: options.keepaliveInterval, keepaliveCountMax: options.keepaliveCountMax) { [self] hop, file in
                await passphrase(for: hop, keyFile: file)
            }
            do throws(SSHError) {
                try await connection.login(context, deadline: deadline)
            } catch {
                await connection.close()
                throw error
            }
            return connection
        case .openssh:
            var parent: OpenSSHSession?
            if case .openssh(let session) = gateway { parent = session }
            let encrypted = hop.identityFiles.first { (try? KeyFileInfo.inspect($0).encrypted) == true }
            var passphrase: Secret?
            if let encrypted { passphrase = await self.passphrase(for: hop, keyFile: encrypted) }
            let directory = try privateDirectory(for: hop)
            controlIndex += 1
            return try await OpenSSHSession.start(hop: hop, via: parent, directory: directory, index: controlIndex,
                                                  options: options, askpass: directory + "/askpass", passphrase: passphrase, reactor: reactor)
        }
    }

    /// A key's passphrase: the hop's environment variable, else the provider (asked once per key file).
    nonisolated func passphrase(for hop: SSHHop, keyFile: String) async -> Secret? {
        if let name = hop.passphraseEnv, let value = ProcessInfo.processInfo.environment[name] { return Secret(value) }
        if let known = passphrases.withLock({ $0[keyFile] }) { return known }
        let answer = await options.passphraseProvider(PassphraseRequest(hopLabel: hop.label, keyFile: keyFile))
        if let answer { passphrases.withLock { $0[keyFile] = answer } }
        return answer
    }

    /// The 0700 directory holding control sockets and the askpass helper.
    private func privateDirectory(for hop: SSHHop) throws(SSHError) -> String {
        if let controlDirectory { return controlDirectory }
        var template = Array("/tmp/edgeup-ssh-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw SSHError(.localProcess, hop: hop.label, step: .connect, "cannot create a private directory in /tmp: \(errnoText())")
        }
        let path = String(cString: made)
        // printf is a shell builtin: the passphrase never appears in an argv.
        let script = "#!/bin/sh\nprintf '%s\\n' \"$EDGEUP_KEY_PASSPHRASE\"\n"
        _ = FileManager.default.createFile(atPath: path + "/askpass", contents: Data(script.utf8), attributes: [.posixPermissions: 0o700])
        controlDirectory = path
        return path
    }
}

/// Process-wide setup libssh2 needs once, before any threads use it.
enum LibSSH2Process {
    static let ready: Bool = {
        signal(SIGPIPE, SIG_IGN)
        raiseOpenFileLimit()
        _ = OpenSSLProcess.ready
        return libssh2_init(0) == 0
    }()

    /// A thousand hosts need a few thousand fds (sockets, tunnels, pipes).
    private static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(RLIMIT_NOFILE_VALUE, &limit)
    }
}

#if os(Linux)
let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#else
let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
#endif
