import CLibSSH2
import EdgeCore
import Foundation

/// An absolute time limit for one step, remembering its length for messages.
struct Deadline: Sendable {
    let instant: ContinuousClock.Instant
    let limit: Duration

    init(_ limit: Duration) {
        self.limit = limit
        instant = .now + limit
    }

    /// For pumps that live as long as their connection.
    static var none: Deadline { Deadline(.seconds(100 * 365 * 86400)) }
}

/// What a connection needs from its client while logging in.
struct LoginContext: Sendable {
    var keepaliveInterval: Duration
    var keepaliveCountMax: Int
    var passphrase: @Sendable (SSHHop, String) async -> Secret?
}

/// One libssh2 session over one socket. Every libssh2 call for the session runs on this actor;
/// a call that would block returns EAGAIN and the caller waits on the reactor, then calls again.
actor LibSSH2Connection {
    nonisolated let hop: SSHHop
    nonisolated let fd: Int32
    let reactor: Reactor
    let session: OpaquePointer
    /// Bytes received so far; bumped by the recv callback (see shim.h).
    let bytesIn: UnsafeMutablePointer<UInt64>
    private(set) var closed = false
    /// Set once the transport broke; later operations fail fast with it.
    private(set) var failure: SSHError?
    private var keepalive: Task<Void, Never>?
    /// `bytesIn` when the last keepalive went out (nil: none outstanding), and how many in a row
    /// got nothing back: libssh2 sends keepalives but never checks that they are answered.
    private var keepaliveBytesAtSend: UInt64?
    private var unansweredKeepalives = 0
    private var tunnels: [Int: Tunnel] = [:]
    private var nextTunnelID = 0
    /// libssh2 keeps the state of a channel open (session, direct-tcpip, SFTP init) in the session,
    /// not the call: two interleaved opens would swap channels. One open at a time.
    private let opening = AsyncLimiter(limit: 1)

    init(hop: SSHHop, fd: Int32, reactor: Reactor) {
        self.hop = hop
        self.fd = fd
        self.reactor = reactor
        bytesIn = .allocate(capacity: 1)
        bytesIn.initialize(to: 0)
        session = libssh2_session_init_ex(nil, nil, nil, UnsafeMutableRawPointer(bytesIn))
        edgeup_install_counting_recv(session)
        libssh2_session_set_blocking(session, 0)
    }

    isolated deinit {
        if !closed {
            // shutdown first: free then fails its sends at once instead of reporting EAGAIN.
            Foundation.shutdown(fd, Int32(SHUT_RDWR))
            libssh2_session_free(session)
            reactor.forget(fd: fd)
            Foundation.close(fd)
        }
        bytesIn.deallocate()
    }

    // MARK: - Driving libssh2

    /// Calls `call` until it stops asking to be called again (nil), waiting on the socket between.
    ///
    /// Cancelled while libssh2 holds a half-sent packet, it keeps calling (briefly, uncancellable)
    /// until the packet is out: libssh2 refuses every other send on the session until then.
    private func io<T>(
        _ step: SSHError.Step, _ deadline: Deadline, cancellable: Bool = true, _ call: () -> T?
    ) async throws(SSHError) -> T {
        var cancelledMidSend = false
        var limit = deadline
        while true {
            if closed { throw failure ?? SSHError(.cancelled, hop: hop.label, step: step, "the connection was closed") }
            let before = bytesIn.pointee
            let value = call()
            // This call may have pulled in data other operations wait for: let them retry.
            if bytesIn.pointee != before { reactor.wake(fd: fd) }
            let directions = libssh2_session_block_directions(session)
            let midSend = directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0
            if let value {
                if cancelledMidSend { throw cancelledError(step) }
                return value
            }
            if cancelledMidSend && !midSend { throw cancelledError(step) }
            // It read bytes yet says EAGAIN: libssh2 may hold a buffered packet that readiness
            // will never show, so call again before waiting.
            if bytesIn.pointee != before && !midSend && ContinuousClock.now < limit.instant { continue }
            var events: IOEvents = []
            if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events.insert(.readable) }
            if midSend { events.insert(.writable) }
            if events.isEmpty { events = .readable }
            let now = ContinuousClock.now
            guard now < limit.instant else {
                throw cancelledMidSend ? cancelledError(step) : timeoutError(step, deadline)
            }
            // Bounded: libssh2 can hold buffered data that readiness cannot show.
            let result = await reactor.wait(
                fd: fd, for: events, until: min(limit.instant, now + .seconds(1)),
                cancellable: cancellable && !cancelledMidSend)
            if result == .cancelled {
                if closed || !midSend { throw cancelledError(step) }
                cancelledMidSend = true
                limit = Deadline(.seconds(5))
            }
        }
    }

    /// For calls returning an int status: EAGAIN, and BAD_USE (another operation's packet is
    /// still half-sent; it finishes on its next turn), mean "call again".
    func call(
        _ step: SSHError.Step, _ deadline: Deadline, cancellable: Bool = true, _ f: () -> Int32
    ) async throws(SSHError) -> Int32 {
        try await io(step, deadline, cancellable: cancellable) {
            let rc = f()
            return rc == LIBSSH2_ERROR_EAGAIN || rc == LIBSSH2_ERROR_BAD_USE ? nil : rc
        }
    }

    private func callSize(_ step: SSHError.Step, _ deadline: Deadline, _ f: () -> Int) async throws(SSHError) -> Int {
        try await io(step, deadline) {
            let n = f()
            return n == Int(LIBSSH2_ERROR_EAGAIN) || n == Int(LIBSSH2_ERROR_BAD_USE) ? nil : n
        }
    }

    /// For calls returning a pointer: NULL with last_errno EAGAIN means "call again".
    private func pointer(
        _ step: SSHError.Step, _ deadline: Deadline, _ f: () -> OpaquePointer?
    ) async throws(SSHError) -> OpaquePointer? {
        try await io(step, deadline) { () -> OpaquePointer?? in
            if let p = f() { return .some(p) }
            let code = libssh2_session_last_errno(session)
            return code == LIBSSH2_ERROR_EAGAIN || code == LIBSSH2_ERROR_BAD_USE ? nil : .some(nil)
        }
    }

    private func lastError() -> (code: Int32, message: String) {
        var text: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(session, &text, &length, 0)
        return (code, text.map { String(cString: $0) } ?? "unknown error")
    }

    private static let transportErrors: Set<Int32> = [
        LIBSSH2_ERROR_SOCKET_DISCONNECT, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_SEND,
        LIBSSH2_ERROR_SOCKET_NONE, LIBSSH2_ERROR_BAD_SOCKET, LIBSSH2_ERROR_SOCKET_TIMEOUT,
    ]

    /// The error for a failed libssh2 call; a broken transport also poisons the connection.
    func failed(_ kind: SSHError.Kind, _ step: SSHError.Step, _ what: String, code: Int32? = nil, hint: String? = nil) -> SSHError {
        let last = lastError()
        let rc = code ?? last.code
        if Self.transportErrors.contains(rc) || Self.transportErrors.contains(last.code) {
            // The first cause is the one worth reporting (e.g. unanswered keepalives).
            if let failure { return failure }
            let error = SSHError(.disconnected, hop: hop.label, step: step, "\(what): the connection was lost (\(last.message))",
                                 hint: "the host, its sshd or the network dropped the SSH connection; check the host and retry")
            failure = error
            return error
        }
        return SSHError(kind, hop: hop.label, step: step, "\(what): \(last.message) (libssh2 error \(rc))", hint: hint)
    }

    private func timeoutError(_ step: SSHError.Step, _ deadline: Deadline) -> SSHError {
        let hint: String = switch step {
        case .connect, .handshake, .hostKey, .auth:
            "the host accepted TCP but did not complete SSH in time; check that it is up and its sshd healthy, or raise connectTimeout"
        default: "raise the timeout if the operation legitimately takes longer"
        }
        return SSHError(.timeout, hop: hop.label, step: step, "no completion within \(deadline.limit)", hint: hint)
    }

    func cancelledError(_ step: SSHError.Step) -> SSHError {
        SSHError(.cancelled, hop: hop.label, step: step, "cancelled")
    }

    func ensureUsable(_ step: SSHError.Step) throws(SSHError) {
        if let failure { throw failure }
        if closed { throw SSHError(.cancelled, hop: hop.label, step: step, "the connection was already closed") }
    }

    // MARK: - Login

    /// Handshake, host key, authentication, keepalive. Returns a warning for insecure-ignore.
    func login(_ context: LoginContext, deadline: Deadline) async throws(SSHError) {
        var knownHosts: KnownHosts?
        if hop.hostKeyPolicy != .insecureIgnore {
            let loaded = KnownHosts(session: session, path: hop.knownHostsFile, name: hop.knownHostsName)
            _ = libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, loaded.hostKeyPreference())
            knownHosts = loaded
        }
        let interval = Int(context.keepaliveInterval.seconds)
        if interval > 0 { libssh2_keepalive_config(session, 1, UInt32(interval)) }

        let rc = try await call(.handshake, deadline) { libssh2_session_handshake(session, libssh2_socket_t(fd)) }
        guard rc == 0 else {
            if rc == LIBSSH2_ERROR_KEX_FAILURE || rc == LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE || rc == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED {
                throw failed(.protocolError, .handshake, "key exchange failed", code: rc,
                             hint: "the server offers no algorithm libssh2 \(LinkedLibSSH2.version) supports; use `ssh: {transport: openssh}` for this host")
            }
            if rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_BANNER_RECV || rc == LIBSSH2_ERROR_SOCKET_RECV {
                let e = SSHError(.disconnected, hop: hop.label, step: .handshake, "the server closed the connection before the SSH handshake finished",
                                 hint: "sshd may be dropping connections (MaxStartups) or this port is not SSH; lower maxHandshakesPerGateway or check the server's log")
                failure = e
                throw e
            }
            throw failed(.protocolError, .handshake, "SSH handshake failed", code: rc)
        }
        try await verifyHostKey(knownHosts)
        try await authenticate(context, deadline)
        startKeepalive(context.keepaliveInterval, countMax: context.keepaliveCountMax)
    }

    private func verifyHostKey(_ knownHosts: KnownHosts?) async throws(SSHError) {
        var length = 0
        var type: Int32 = 0
        guard let raw = libssh2_session_hostkey(session, &length, &type) else {
            throw failed(.protocolError, .hostKey, "the server presented no host key")
        }
        guard let knownHosts else { return }
        let blob = [UInt8](UnsafeRawBufferPointer(start: raw, count: length))
        let name = hop.knownHostsName
        let presented = "\(KnownHosts.typeName(type)) \(SHA256Digest.fingerprint(ofKeyBlob: blob))"
        let path = knownHosts.path
        switch knownHosts.check(name: name, keyBlob: blob, hostKeyType: type) {
        case .match:
            return
        case .revoked:
            throw SSHError(.hostKeyRevoked, hop: hop.label, step: .hostKey,
                           "REVOKED HOST KEY for \(name): the server presents \(presented), which \(path) marks @revoked",
                           hint: "a revoked key may be stolen: someone may be impersonating the host; give the host a new key and add that to known_hosts")
        case .changed(let known):
            throw SSHError(.hostKeyChanged, hop: hop.label, step: .hostKey,
                           "HOST KEY CHANGED for \(name): \(path) has \(KnownHosts.fingerprint(base64: known)), the server now presents \(presented)",
                           hint: "if the host was reinstalled, remove the old entry (ssh-keygen -R '\(name)' -f \(path)) and connect again; otherwise someone may be intercepting the connection")
        case .unknown(let otherTypes) where !otherTypes.isEmpty:
            throw SSHError(.hostKeyChanged, hop: hop.label, step: .hostKey,
                           "HOST KEY CHANGED for \(name): \(path) has only \(otherTypes.joined(separator: ", ")) keys, the server now presents \(presented)",
                           hint: "if the host's keys were regenerated, remove the old entries (ssh-keygen -R '\(name)' -f \(path)) and connect again")
        case .unknown:
            guard hop.hostKeyPolicy == .acceptNew else {
                throw SSHError(.hostKeyUnknown, hop: hop.label, step: .hostKey,
                               "\(name) is not in \(path) (the server presents \(presented))",
                               hint: unknownHostHint(name: name, path: path, keyType: KnownHosts.typeName(type)))
            }
            guard let line = knownHosts.line(name: name, keyBlob: blob, hostKeyType: type) else {
                throw SSHError(.hostKeyFile, hop: hop.label, step: .hostKey, "cannot format a known_hosts entry for a \(KnownHosts.typeName(type)) key")
            }
            try await KnownHosts.append(line: line, to: path, hop: hop.label) {
                KnownHosts(session: session, path: path, name: name).check(name: name, keyBlob: blob, hostKeyType: type)
            }
        }
    }

    private func unknownHostHint(name: String, path: String, keyType: String) -> String {
        guard hop.hostKeyAlias != nil else {
            return "verify the fingerprint and add the host to known_hosts (ssh-keyscan -p \(hop.port) \(hop.address)), or use host key policy accept-new"
        }
        let bare = SSHHop.openSSHName(address: hop.address, port: hop.port)
        if KnownHostsIndex.shared.entries(for: bare, in: path).contains(where: { !$0.revoked }) {
            return "\(path) lists the bare address \(bare), which stores behind other gateways may share: if that entry is this host's, add its key again under '\(name)'"
        }
        return "verify the fingerprint and add it to \(path) as '\(name) \(keyType) KEY' (a host behind gateways is named by its route), or use host key policy accept-new"
    }

    private func authenticate(_ context: LoginContext, _ deadline: Deadline) async throws(SSHError) {
        var tried: [String] = []
        var rsaRefused: String?
        var serverRejected = false
        let user = hop.user
        for file in hop.identityFiles {
            let info: KeyFileInfo
            do throws(OSError) {
                info = try KeyFileInfo.inspect(file)
            } catch {
                tried.append("\(file): cannot read it (\(errnoText(error.code)))")
                continue
            }
            var passphrase: Secret?
            if info.encrypted {
                passphrase = await context.passphrase(hop, file)
                guard passphrase != nil else {
                    let source = hop.passphraseEnv.map { "$\($0) is not set" } ?? "no passphrase variable configured and no terminal to ask on"
                    tried.append("\(file): encrypted, and no passphrase is available (\(source))")
                    continue
                }
            }
            let rc = try await call(.auth, deadline) {
                libssh2_userauth_publickey_fromfile_ex(session, user, UInt32(user.utf8.count), nil, file, passphrase?.value)
            }
            if rc == 0 { return }
            switch rc {
            case LIBSSH2_ERROR_FILE, LIBSSH2_ERROR_KEYFILE_AUTH_FAILED:
                tried.append("\(file): cannot be loaded — wrong passphrase, or the file is unreadable or not a supported private key")
            case LIBSSH2_ERROR_AUTHENTICATION_FAILED, LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
                serverRejected = true
                if info.kind == .rsa && !LinkedLibSSH2.canSignRSASHA2 { rsaRefused = file }
                tried.append("\(file) (\(info.kind.rawValue)): rejected by the server")
            default:
                let error = failed(.authFailed, .auth, "\(file)", code: rc)
                if error.kind == .disconnected { throw error }
                tried.append(error.message)
            }
        }
        if hop.useAgent {
            if let socket = ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"], !socket.isEmpty {
                if try await authenticateWithAgent(deadline, tried: &tried) { return }
                serverRejected = true
            } else {
                tried.append("ssh-agent: SSH_AUTH_SOCK is not set")
            }
        }
        if let rsaRefused {
            throw SSHError(.unsupportedKey, hop: hop.label, step: .auth,
                           "\(rsaRefused) is an RSA key, and the linked libssh2 \(LinkedLibSSH2.version) (older than 1.11) can sign RSA only with SHA-1 (ssh-rsa), which OpenSSH 8.8 and later refuse",
                           hint: "use an ed25519 key for this host, or set `ssh: {transport: openssh}` (libssh2 1.11+ fixes this)")
        }
        let summary = tried.isEmpty ? "no identity files configured and the agent is off" : tried.joined(separator: "; ")
        if !serverRejected && !hop.identityFiles.isEmpty {
            throw SSHError(.keyFile, hop: hop.label, step: .auth, "no usable identity for \(user): \(summary)",
                           hint: "check the key path and its permissions, and the passphrase (\(hop.passphraseEnv.map { "$\($0)" } ?? "no passphrase variable set"))")
        }
        throw SSHError(.authFailed, hop: hop.label, step: .auth, "no key was accepted for \(user)@\(hop.address): \(summary)",
                       hint: "check that the public key is in ~\(user)/.ssh/authorized_keys on the host and that the user name is right")
    }

    /// Tries every agent key; the agent's own socket is local and blocking, which libssh2 expects.
    private func authenticateWithAgent(_ deadline: Deadline, tried: inout [String]) async throws(SSHError) -> Bool {
        guard let agent = libssh2_agent_init(session) else {
            tried.append("ssh-agent: cannot initialise")
            return false
        }
        defer {
            libssh2_agent_disconnect(agent)
            libssh2_agent_free(agent)
        }
        guard libssh2_agent_connect(agent) == 0 else {
            tried.append("ssh-agent: cannot connect to $SSH_AUTH_SOCK")
            return false
        }
        guard libssh2_agent_list_identities(agent) == 0 else {
            tried.append("ssh-agent: cannot list keys")
            return false
        }
        var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
        var count = 0
        let user = hop.user
        while libssh2_agent_get_identity(agent, &identity, previous) == 0, let current = identity {
            count += 1
            previous = current
            let rc = try await call(.auth, deadline) { libssh2_agent_userauth(agent, user, current) }
            if rc == 0 { return true }
            if Self.transportErrors.contains(rc) { throw failed(.authFailed, .auth, "ssh-agent key", code: rc) }
        }
        tried.append(count == 0 ? "ssh-agent: holds no keys" : "ssh-agent: \(count) key(s), all rejected")
        return false
    }

    private func startKeepalive(_ interval: Duration, countMax: Int) {
        guard interval > .zero else { return }
        keepalive = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, await self.sendKeepalive(interval: interval, countMax: countMax) else { return }
            }
        }
    }

    /// Sends only into an idle, writable socket: libssh2 keeps a half-sent keepalive pointing at
    /// its own stack, which would block every later send on the session. Any byte from the host
    /// since the last one, read or still waiting in the socket, counts as an answer.
    private func sendKeepalive(interval: Duration, countMax: Int) -> Bool {
        guard !closed, failure == nil else { return false }
        var probe = pollfd(fd: fd, events: Int16(POLLIN | POLLOUT), revents: 0)
        _ = poll(&probe, 1, 0)
        if let sentAt = keepaliveBytesAtSend {
            let answered = bytesIn.pointee != sentAt || probe.revents & Int16(POLLIN) != 0
            unansweredKeepalives = answered ? 0 : unansweredKeepalives + 1
            keepaliveBytesAtSend = nil
            if unansweredKeepalives >= countMax {
                lost(SSHError(.disconnected, hop: hop.label, step: .exec,
                              "the host stopped answering: \(countMax) keepalives in a row, \(interval) apart, got no reply",
                              hint: "the host, its network or a gateway on the way went away; check the host and retry"))
                return false
            }
        }
        guard libssh2_session_block_directions(session) & LIBSSH2_SESSION_BLOCK_OUTBOUND == 0 else { return true }
        guard probe.revents & Int16(POLLOUT) != 0 else { return true }
        var next: Int32 = 0
        let rc = libssh2_keepalive_send(session, &next)
        if rc != 0 && rc != LIBSSH2_ERROR_EAGAIN {
            _ = failed(.disconnected, .exec, "keepalive", code: rc)
            return false
        }
        // libssh2 sends only when a full interval has passed (then `next` is the interval).
        if rc == 0 && Int(next) == Int(interval.seconds) { keepaliveBytesAtSend = bytesIn.pointee }
        return true
    }

    /// Poisons the connection and wakes every waiter: their next libssh2 call fails on the
    /// shut-down socket and reports `error`.
    private func lost(_ error: SSHError) {
        failure = failure ?? error
        Foundation.shutdown(fd, Int32(SHUT_RDWR))
        reactor.wake(fd: fd)
    }

    // MARK: - Exec

    func exec(_ command: RemoteCommand, timeout: Duration) async throws(SSHError) -> CommandResult {
        do throws(SSHError) {
            return try await exec(command, deadline: Deadline(timeout))
        } catch where error.kind == .timeout {
            throw ExecState.timedOut(hop, after: timeout)
        }
    }

    private func exec(_ command: RemoteCommand, deadline: Deadline) async throws(SSHError) -> CommandResult {
        try ensureUsable(.exec)
        let state = ExecState(command)
        let line = state.commandLine(command.command, reportExit: false)
        let channel = try await openSessionChannel(.exec, deadline)
        do throws(SSHError) {
            let rc = try await call(.exec, deadline) {
                libssh2_channel_process_startup(channel, "exec", 4, line, UInt32(line.utf8.count))
            }
            guard rc == 0 else { throw failed(.channel, .exec, "the server refused to start the command", code: rc) }
            try await pump(channel, state, deadline)
        } catch {
            await discard(channel)
            throw error
        }
        // finishChannel frees the channel even when it throws: no discard after this point.
        let (status, signal) = try await finishChannel(channel, .exec, deadline)
        return try state.finish(exitStatus: signal == nil ? status : nil, exitSignal: signal, hop: hop)
    }

    /// Runs one channel-opening call, never interleaved with another on this session.
    private func opening(_ step: SSHError.Step, _ deadline: Deadline, _ f: () -> OpaquePointer?) async throws(SSHError) -> OpaquePointer? {
        guard await opening.acquire() else { throw cancelledError(step) }
        defer { opening.release() }
        return try await pointer(step, deadline, f)
    }

    func openSessionChannel(_ step: SSHError.Step, _ deadline: Deadline) async throws(SSHError) -> OpaquePointer {
        let channel = try await opening(step, deadline) {
            libssh2_channel_open_ex(session, "session", 7, 2 * 1024 * 1024, 32768, nil, 0)
        }
        guard let channel else { throw failed(.channel, step, "cannot open a channel") }
        return channel
    }

    /// Feeds stdin and drains stdout and stderr together until both reach EOF: draining one
    /// first would deadlock once the other fills its window.
    private func pump(_ channel: OpaquePointer, _ state: ExecState, _ deadline: Deadline) async throws(SSHError) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var stdinOffset = 0
        var eofSent = false
        var open: [Int32: Bool] = [0: true, 1: true]
        var rounds = 0
        while open[0]! || open[1]! {
            if closed { throw failure ?? cancelledError(.exec) }
            var progressed = false
            if stdinOffset < state.stdinQueue.count {
                let n = state.stdinQueue.withUnsafeBytes { raw in
                    libssh2_channel_write_ex(channel, 0, raw.baseAddress!.advanced(by: stdinOffset).assumingMemoryBound(to: CChar.self), raw.count - stdinOffset)
                }
                if n > 0 {
                    stdinOffset += n
                    progressed = true
                } else if n < 0 && n != Int(LIBSSH2_ERROR_EAGAIN) && n != Int(LIBSSH2_ERROR_BAD_USE) {
                    let error = failed(.channel, .exec, "writing stdin", code: Int32(n))
                    if error.kind == .disconnected { throw error }
                    stdinOffset = state.stdinQueue.count  // the command closed its stdin; drop the rest
                }
            } else if state.closeStdinWhenDrained && !eofSent && sendEOF(channel) {
                eofSent = true
                progressed = true
            }
            if try readStreams(channel, into: &buffer, open: &open, { stream, chunk in
                if stream == 0 { state.receive(stdout: chunk) } else { state.receive(stderr: chunk) }
            }) {
                progressed = true
            }
            rounds += 1
            if progressed && rounds % 16 == 0 {
                await Task.yield()  // a busy stream must not starve the session's other channels
            }
            if !progressed {
                // io with a call that only asks to wait once: the socket wait, deadline and
                // cancellation handling in one place.
                var waited = false
                do throws(SSHError) {
                    _ = try await io(.exec, deadline) { () -> Bool? in
                        defer { waited = true }
                        return waited ? true : nil
                    }
                } catch {
                    if stdinOffset < state.stdinQueue.count { await flushStdin(channel, state.stdinQueue, stdinOffset) }
                    throw error
                }
            }
        }
    }

    /// Repeats a stdin write that libssh2 may hold half-sent, so the session stays usable.
    func flushStdin(_ channel: OpaquePointer, _ data: Data, _ offset: Int) async {
        _ = try? await io(.exec, Deadline(.seconds(5)), cancellable: false) { () -> Int? in
            let n = data.withUnsafeBytes { raw in
                libssh2_channel_write_ex(channel, 0, raw.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self), raw.count - offset)
            }
            return n == Int(LIBSSH2_ERROR_EAGAIN) ? nil : n
        }
    }

    /// Closes the channel cleanly and returns its exit status and signal.
    func finishChannel(_ channel: OpaquePointer, _ step: SSHError.Step, _ deadline: Deadline) async throws(SSHError) -> (Int32, String?) {
        do throws(SSHError) {
            _ = try await call(step, deadline) { libssh2_channel_close(channel) }
            _ = try await call(step, deadline) { libssh2_channel_wait_closed(channel) }
        } catch {
            await discard(channel)
            throw error
        }
        let status = libssh2_channel_get_exit_status(channel)
        var signal: UnsafeMutablePointer<CChar>?
        var signalLength = 0
        _ = libssh2_channel_get_exit_signal(channel, &signal, &signalLength, nil, nil, nil, nil)
        let name = signal.map { String(cString: $0) }
        if let signal { libssh2_free(session, signal) }
        _ = try? await call(.close, Deadline(.seconds(2)), cancellable: false) { libssh2_channel_free(channel) }
        return (status, name)
    }

    /// Best-effort close after a failure or cancellation; never itself cancellable. Sends the
    /// close but does not wait for the peer's: sshd answers only once the command exits.
    /// (libssh2 never reuses a channel id, so late packets for it cannot reach a new channel.)
    func discard(_ channel: OpaquePointer) async {
        guard !closed, failure == nil else { return }
        let limit = Deadline(.seconds(2))
        _ = try? await io(.close, limit, cancellable: false) { () -> Int32? in
            let rc = libssh2_channel_close(channel)
            guard rc == LIBSSH2_ERROR_EAGAIN || rc == LIBSSH2_ERROR_BAD_USE else { return rc }
            let sending = libssh2_session_block_directions(session) & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0
            return sending || rc == LIBSSH2_ERROR_BAD_USE ? nil : 0
        }
        _ = try? await call(.close, limit, cancellable: false) { libssh2_channel_free(channel) }
    }

    // MARK: - SFTP

    /// Writes `source` to a new 0600 file at `path` (never into one that exists) with large SFTP writes. Each write has its own
    /// deadline, so a big file is limited by progress, not total time.
    func writeFile(_ source: UploadSource, to path: String, from offset: Int, pacing: UploadPacing, chunkTimeout: Duration) async throws(SSHError) -> Int {
        try ensureUsable(.upload)
        let sftp = try await opening(.upload, Deadline(chunkTimeout)) { libssh2_sftp_init(session) }
        guard let sftp else {
            throw failed(.sftp, .upload, "cannot start SFTP", hint: "the server may have the sftp subsystem disabled; use transport: openssh")
        }
        do throws(SSHError) {
            let total = try await writeFile(sftp, source, path, offset, pacing, chunkTimeout)
            await shutdownSFTP(sftp)
            return total
        } catch {
            await shutdownSFTP(sftp)
            throw error
        }
    }

    /// Starting at `offset`, the file's bytes before it already on the host (a resumed upload);
    /// from 0 the file is created or truncated. Returns the bytes sent.
    private func writeFile(
        _ sftp: OpaquePointer, _ source: UploadSource, _ path: String, _ offset: Int, _ pacing: UploadPacing, _ chunkTimeout: Duration
    ) async throws(SSHError) -> Int {
        let flags = UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | (offset == 0 ? LIBSSH2_FXF_TRUNC : 0))
        let handle = try await pointer(.upload, Deadline(chunkTimeout)) {
            libssh2_sftp_open_ex(sftp, path, UInt32(path.utf8.count), flags, 0o600, LIBSSH2_SFTP_OPENFILE)
        }
        guard let handle else {
            throw SSHError(.sftp, hop: hop.label, step: .upload, "cannot create \(path): \(sftpStatus(sftp))")
        }
        if offset > 0 { libssh2_sftp_seek64(handle, UInt64(offset)) }
        // 1 MiB writes: libssh2 pipelines them as many SFTP packets (32 KiB writes run at half speed);
        // paced uploads offer less at a time, so the pace stays even.
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: pacing.chunkSize, alignment: 16)
        defer { chunk.deallocate() }
        var total = 0
        do throws(SSHError) {
            let reader = try source.reader(hop: hop.label, from: offset)
            while true {
                let count = try reader.read(into: chunk)
                if count == 0 { break }
                var written = 0
                while written < count {
                    let base = chunk.baseAddress!.advanced(by: written).assumingMemoryBound(to: CChar.self)
                    let length = count - written
                    let n = try await callSize(.upload, Deadline(chunkTimeout)) { libssh2_sftp_write(handle, base, length) }
                    guard n >= 0 else {
                        throw SSHError(.sftp, hop: hop.label, step: .upload, "writing \(path) failed: \(sftpStatus(sftp))")
                    }
                    written += n
                    await pacing.paid(n)
                }
                total += count
            }
        } catch {
            _ = try? await call(.close, Deadline(.seconds(2)), cancellable: false) { libssh2_sftp_close_handle(handle) }
            throw error
        }
        let rc = try await call(.upload, Deadline(chunkTimeout)) { libssh2_sftp_close_handle(handle) }
        guard rc == 0 else { throw SSHError(.sftp, hop: hop.label, step: .upload, "closing \(path) failed: \(sftpStatus(sftp))") }
        return total
    }

    private func shutdownSFTP(_ sftp: OpaquePointer) async {
        guard !closed, failure == nil else { return }
        _ = try? await call(.close, Deadline(.seconds(2)), cancellable: false) { libssh2_sftp_shutdown(sftp) }
    }

    private func sftpStatus(_ sftp: OpaquePointer) -> String {
        let status = libssh2_sftp_last_error(sftp)
        let text: String = switch status {
        case 2: "no such file or directory"
        case 3: "permission denied"
        case 4: "failure (disk full, or not allowed)"
        default: "SFTP status \(status)"
        }
        let (code, message) = lastError()
        return code == LIBSSH2_ERROR_SFTP_PROTOCOL ? text : "\(message) (libssh2 error \(code))"
    }

    // MARK: - Gateway tunnels

    /// A direct-tcpip channel to `address:port`, carried to a local socketpair whose other end
    /// (returned) a new session uses as its socket.
    func openTunnel(to address: String, port: Int, for label: String, deadline: Deadline) async throws(SSHError) -> Int32 {
        try ensureUsable(.connect)
        let channel: OpaquePointer?
        do throws(SSHError) {
            channel = try await opening(.connect, deadline) {
                libssh2_channel_direct_tcpip_ex(session, address, Int32(port), "127.0.0.1", 22)
            }
        } catch where error.kind == .timeout {
            // The open is still pending inside libssh2, which would hand its channel to the next
            // open, whatever that one asked for: the session cannot be trusted any more.
            lost(error)
            throw error
        }
        guard let channel else {
            let (code, message) = lastError()
            if let failure { throw SSHError(failure.kind, hop: label, step: .connect, "via gateway \(hop.label): \(failure.message)", hint: failure.hint) }
            guard code == LIBSSH2_ERROR_CHANNEL_FAILURE else {
                // Not the gateway's refusal: the session itself broke (its sshd went away).
                let error = SSHError(.disconnected, hop: hop.label, step: .connect, "the connection to the gateway broke (\(message))",
                                     hint: "the gateway or its sshd restarted, or the link dropped; the next connection logs in again")
                lost(error)
                throw error
            }
            throw SSHError(.connectFailed, hop: label, step: .connect,
                           "gateway \(hop.label) could not open a connection to \(address):\(port) (\(message))",
                           hint: "check that \(address):\(port) is reachable from the gateway and that its sshd allows TCP forwarding")
        }
        var ends: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, SOCK_STREAM_VALUE | SOCK_CLOEXEC_VALUE, 0, &ends) == 0 else {
            let reason = errnoText()
            await discard(channel)
            throw SSHError(.localProcess, hop: label, step: .connect, "cannot create a socketpair: \(reason)", hint: "raise the open-file limit (ulimit -n)")
        }
        makeNonBlockingCloseOnExec(ends[0])
        makeNonBlockingCloseOnExec(ends[1])
        nextTunnelID += 1
        let id = nextTunnelID
        tunnels[id] = Tunnel(channel: channel, local: ends[0])
        Task { await self.pumpToChannel(id) }
        Task { await self.pumpFromChannel(id) }
        return ends[1]
    }

    /// Local socket → channel. On EOF (the inner session closed) the tunnel winds down.
    private func pumpToChannel(_ id: Int) async {
        guard let tunnel = tunnels[id] else { return }
        var buffer = [UInt8](repeating: 0, count: 65536)
        loop: while !closed {
            let n = read(tunnel.local, &buffer, buffer.count)
            if n > 0 {
                var offset = 0
                while offset < n {
                    let start = offset
                    let written = try? await callSize(.connect, .none) {
                        buffer.withUnsafeBufferPointer {
                            libssh2_channel_write_ex(tunnel.channel, 0, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self).advanced(by: start), n - start)
                        }
                    }
                    guard let written, written > 0 else { break loop }
                    offset += written
                }
            } else if n == 0 {
                break
            } else if errno == EAGAIN || errno == EINTR {
                if await reactor.wait(fd: tunnel.local, for: .readable, until: Deadline.none.instant) == .cancelled { break }
            } else {
                break
            }
        }
        tunnel.localClosed = true
        reactor.wake(fd: fd)
    }

    /// Channel → local socket; owns the tunnel's cleanup.
    private func pumpFromChannel(_ id: Int) async {
        guard let tunnel = tunnels[id] else { return }
        var buffer = [UInt8](repeating: 0, count: 65536)
        loop: while !closed {
            let n = try? await callSize(.connect, .none) { () -> Int in
                if tunnel.localClosed { return 0 }
                let n = libssh2_channel_read_ex(tunnel.channel, 0, &buffer, buffer.count)
                return n == 0 && libssh2_channel_eof(tunnel.channel) == 0 ? Int(LIBSSH2_ERROR_EAGAIN) : n
            }
            guard let n, n > 0 else { break }
            var offset = 0
            while offset < n {
                let sent = buffer.withUnsafeBytes { send(tunnel.local, $0.baseAddress!.advanced(by: offset), n - offset, Int32(MSG_NOSIGNAL)) }
                if sent > 0 {
                    offset += sent
                } else if sent < 0 && (errno == EAGAIN || errno == EINTR) {
                    if await reactor.wait(fd: tunnel.local, for: .writable, until: Deadline.none.instant) == .cancelled { break loop }
                } else {
                    break loop
                }
            }
        }
        Foundation.shutdown(tunnel.local, Int32(SHUT_RDWR))
        while !tunnel.localClosed && !closed {
            // The inner session still writes into its end: wait for the other pump to see EOF.
            _ = await reactor.wait(fd: tunnel.local, for: .readable, until: .now + .milliseconds(200))
        }
        tunnels[id] = nil
        reactor.forget(fd: tunnel.local)
        Foundation.close(tunnel.local)
        await discard(tunnel.channel)
    }

    var tunnelCount: Int { tunnels.count }
    var isUsable: Bool { !closed && failure == nil }

    // MARK: - Close

    func close() async {
        guard !closed else { return }
        keepalive?.cancel()
        if failure == nil {
            _ = try? await call(.close, Deadline(.seconds(2)), cancellable: false) {
                libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "edgeup done", "")
            }
        }
        closed = true
        for tunnel in tunnels.values {
            tunnel.localClosed = true
            reactor.forget(fd: tunnel.local)
            Foundation.close(tunnel.local)
        }
        tunnels = [:]
        Foundation.shutdown(fd, Int32(SHUT_RDWR))
        libssh2_session_free(session)
        reactor.forget(fd: fd)
        Foundation.close(fd)
    }
}

/// One forwarded connection through a gateway.
final class Tunnel {
    let channel: OpaquePointer
    let local: Int32
    var localClosed = false

    init(channel: OpaquePointer, local: Int32) {
        self.channel = channel
        self.local = local
    }
}

#if os(Linux)
let SOCK_STREAM_VALUE = Int32(SOCK_STREAM.rawValue)
/// Close-on-exec from creation: a spawned `ssh` must never inherit a socket, even briefly.
let SOCK_CLOEXEC_VALUE = Int32(SOCK_CLOEXEC.rawValue)
#else
let SOCK_STREAM_VALUE = SOCK_STREAM
let SOCK_CLOEXEC_VALUE: Int32 = 0
#endif
