import EdgeCore
import Foundation

/// The system `ssh` with one ControlMaster per hop: honours everything OpenSSH does (ssh_config,
/// FIDO keys, RSA with SHA-2, certificates) at the cost of a process per command.
final class OpenSSHSession: TransportSession {
    let hop: SSHHop
    let ssh: String
    private let controlPath: String
    /// Everything but the destination, for the master and for every command through it.
    let arguments: [String]
    let environment: [String: String]
    private let reactor: Reactor

    private init(hop: SSHHop, ssh: String, controlPath: String, arguments: [String], environment: [String: String], reactor: Reactor) {
        self.hop = hop
        self.ssh = ssh
        self.controlPath = controlPath
        self.arguments = arguments
        self.environment = environment
        self.reactor = reactor
    }

    /// Starts the master (`ssh -M -N -f`): it logs in, then backgrounds itself. Its stderr goes to
    /// a file, because a pipe would stay open in the background master and never see EOF.
    static func start(
        hop: SSHHop, via gateway: OpenSSHSession?, directory: String, index: Int,
        options: SSHClientOptions, askpass: String, passphrase: Secret?, reactor: Reactor
    ) async throws(SSHError) -> OpenSSHSession {
        let controlPath = "\(directory)/c\(index)"
        var environment = OpenSSHEnvironment.forSSH(from: ProcessInfo.processInfo.environment, useAgent: hop.useAgent)
        var arguments = [
            "-p", String(hop.port), "-l", hop.user,
            "-o", "ControlPath=\(controlPath)",
            "-o", "StrictHostKeyChecking=\(hop.hostKeyPolicy == .strict ? "yes" : hop.hostKeyPolicy == .acceptNew ? "accept-new" : "no")",
            "-o", "UserKnownHostsFile=\(hop.hostKeyPolicy == .insecureIgnore ? "/dev/null" : hop.knownHostsFile)",
            // The same known_hosts name as the libssh2 transport: a gateway-reached host by its route.
            "-o", "HostKeyAlias=\(hop.knownHostsName)",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=\(max(1, Int(options.connectTimeout.seconds)))",
            "-o", "LogLevel=ERROR",
        ]
        if options.keepaliveInterval > .zero {
            arguments += ["-o", "ServerAliveInterval=\(max(1, Int(options.keepaliveInterval.seconds)))",
                          "-o", "ServerAliveCountMax=\(max(1, options.keepaliveCountMax))"]
        }
        for file in hop.identityFiles { arguments += ["-i", file] }
        if !hop.useAgent { arguments += ["-o", "IdentityAgent=none"] }
        if let passphrase {
            // The askpass helper prints this variable: the passphrase is never in any argv.
            environment["EDGEUP_KEY_PASSPHRASE"] = passphrase.value
            environment["SSH_ASKPASS"] = askpass
            environment["SSH_ASKPASS_REQUIRE"] = "force"
        } else if isatty(STDIN_FILENO) != 1 {
            arguments += ["-o", "BatchMode=yes"]
        }
        if let gateway {
            arguments += ["-o", "ProxyCommand=" + gateway.proxyCommand(to: hop.address, port: hop.port)]
        }
        let session = OpenSSHSession(hop: hop, ssh: options.sshExecutable, controlPath: controlPath,
                                     arguments: arguments, environment: environment, reactor: reactor)
        try await session.startMaster(directory: directory, index: index, timeout: options.connectTimeout)
        return session
    }

    private func startMaster(directory: String, index: Int, timeout: Duration) async throws(SSHError) {
        let log = "\(directory)/c\(index).log"
        let child: ChildProcess
        do throws(OSError) {
            child = try ChildProcess.spawn(
                ssh, arguments + ["-M", "-N", "-f", "-o", "ControlMaster=yes", "-o", "ControlPersist=15m", hop.address],
                environment: environment, stdin: .null, stdout: .null, stderr: .file(log))
        } catch {
            throw SSHError(.localProcess, hop: hop.label, step: .connect, "cannot run \(ssh): \(errnoText(error.code))",
                           hint: "install the OpenSSH client, or use transport: libssh2")
        }
        let status = await withTaskCancellationHandler { await child.waitForExit() } onCancel: { child.terminate() }
        guard status != 0 else { return }
        let said = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        throw Self.classify(said, hop: hop, status: status)
    }

    /// Maps ssh's stderr to the same error kinds the libssh2 transport reports.
    static func classify(_ said: String, hop: SSHHop, status: Int32) -> SSHError {
        let text = said.isEmpty ? "ssh exited with status \(status)" : said
        func error(_ kind: SSHError.Kind, _ step: SSHError.Step, _ hint: String?) -> SSHError {
            SSHError(kind, hop: hop.label, step: step, text, hint: hint)
        }
        if said.contains("Connection refused") {
            return error(.connectRefused, .connect, "is sshd running on \(hop.address):\(hop.port)?")
        }
        if said.contains("timed out") {
            return error(.timeout, .connect, "the host may be down, or a firewall drops the traffic")
        }
        if said.contains("REVOKED HOST KEY") {
            return error(.hostKeyRevoked, .hostKey, "a revoked key may be stolen: someone may be impersonating the host; give the host a new key and add that to known_hosts")
        }
        if said.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") || said.contains("Host key for") && said.contains("has changed") {
            return error(.hostKeyChanged, .hostKey, "if the host was reinstalled, remove the old entry with ssh-keygen -R")
        }
        if said.contains("Host key verification failed") {
            return error(.hostKeyUnknown, .hostKey, "add the host to \(hop.knownHostsFile) as \(hop.knownHostsName), or use host key policy accept-new")
        }
        if said.contains("Permission denied") {
            return error(.authFailed, .auth, "check the key, the agent and authorized_keys for \(hop.user)")
        }
        if said.contains("Connection closed") || said.contains("closed by remote host") || said.contains("reset by peer") {
            return error(.disconnected, .handshake, "the host or a gateway dropped the connection")
        }
        return error(.connectFailed, .connect, nil)
    }

    /// The `ProxyCommand` that reaches `address:port` through this hop's master.
    /// `%` is doubled because ssh expands `%` tokens in ProxyCommand (once per nesting level).
    func proxyCommand(to address: String, port: Int) -> String {
        let target = SSHHop.endpoint(address: address, port: port)
        let argv = [ssh] + arguments + ["-o", "ControlMaster=no", "-W", target, hop.address]
        return ShellQuote.command(argv).replacingOccurrences(of: "%", with: "%%")
    }

    func exec(_ command: RemoteCommand, timeout: Duration) async throws(SSHError) -> CommandResult {
        try await exec(command, timeout: timeout, stdinFile: nil)
    }

    /// `stdinFile` becomes ssh's stdin directly, so a large upload is never copied through memory.
    private func exec(_ command: RemoteCommand, timeout: Duration, stdinFile: String?) async throws(SSHError) -> CommandResult {
        let state = ExecState(command)
        let line = state.commandLine(command.command, reportExit: true)
        let deadline = Deadline(timeout)
        let child: ChildProcess
        do throws(OSError) {
            child = try ChildProcess.spawn(ssh, arguments + ["-o", "ControlMaster=no", "-T", hop.address, "--", line],
                                           environment: environment, stdin: stdinFile.map { .readFile($0) } ?? .pipe)
        } catch {
            throw SSHError(.localProcess, hop: hop.label, step: .exec, "cannot run \(ssh): \(errnoText(error.code))",
                           hint: "the open-file or process limit may be reached")
        }
        defer {
            child.closeStdin()
            Foundation.close(child.stdoutFD)
            Foundation.close(child.stderrFD)
        }
        do throws(SSHError) {
            try await drive(child, state, deadline)
        } catch {
            // A mux client only relays: SIGKILL is safe, and SIGTERM would wait for the remote command.
            child.terminate(SIGKILL)
            _ = await child.waitForExit()
            throw error
        }
        let status = await child.waitForExit()
        if state.reportedExit == nil && state.reportedSignal == nil {
            let said = String(decoding: state.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw SSHError(.disconnected, hop: hop.label, step: .exec,
                           "the command's connection ended without an exit status (ssh status \(status))\(said.isEmpty ? "" : ": \(said)")",
                           hint: "the host, its sshd or the network dropped the SSH connection; check the host and retry")
        }
        return try state.finish(exitStatus: state.reportedExit, exitSignal: state.reportedSignal, hop: hop)
    }

    /// Same pumping as the libssh2 transport: stdin, stdout and stderr together.
    private func drive(_ child: ChildProcess, _ state: ExecState, _ deadline: Deadline) async throws(SSHError) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var stdinOffset = 0
        var open: [Int32: Bool] = [child.stdoutFD: true, child.stderrFD: true]
        while open.values.contains(true) {
            var progressed = false
            var interests: [(fd: Int32, events: IOEvents)] = []
            if child.stdinFD >= 0 {
                if stdinOffset < state.stdinQueue.count {
                    let n = state.stdinQueue.withUnsafeBytes { write(child.stdinFD, $0.baseAddress!.advanced(by: stdinOffset), $0.count - stdinOffset) }
                    if n > 0 {
                        stdinOffset += n
                        progressed = true
                    } else if n < 0 && errno == EAGAIN {
                        interests.append((child.stdinFD, .writable))
                    } else {
                        child.closeStdin()  // ssh stopped reading stdin: the remote side closed it
                    }
                } else if state.closeStdinWhenDrained {
                    child.closeStdin()
                    progressed = true
                }
            }
            for fd in [child.stdoutFD, child.stderrFD] where open[fd]! {
                let n = read(fd, &buffer, buffer.count)
                if n > 0 {
                    let chunk = Data(buffer[0..<n])
                    if fd == child.stdoutFD { state.receive(stdout: chunk) } else { state.receive(stderr: chunk) }
                    progressed = true
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    open[fd] = false
                } else {
                    interests.append((fd, .readable))
                }
            }
            if progressed || interests.isEmpty { continue }
            guard ContinuousClock.now < deadline.instant else { throw ExecState.timedOut(hop, after: deadline.limit) }
            if await reactor.waitAny(interests, until: min(deadline.instant, .now + .seconds(1))) == .cancelled {
                throw SSHError(.cancelled, hop: hop.label, step: .exec, "cancelled")
            }
        }
    }

    /// Streams the content into `cat` on the remote side: no SFTP needed. Neither resumes nor
    /// paces: ssh reads the local file itself.
    func writeFile(_ source: UploadSource, to path: String, from offset: Int, pacing: UploadPacing, chunkTimeout: Duration) async throws(SSHError) -> Int {
        let command = "umask 077 && cat > " + ShellQuote.quote(path)
        let result: CommandResult
        let size: Int
        switch source {
        case .file(let local):
            size = (try? FileManager.default.attributesOfItem(atPath: local)[.size] as? Int) ?? 0
            // At least 1 MiB/s, on top of the per-step timeout.
            let limit = chunkTimeout + .seconds(size >> 20)
            result = try await exec(RemoteCommand(command), timeout: limit, stdinFile: local)
        case .data(let data):
            size = data.count
            result = try await exec(RemoteCommand(command, stdin: data), timeout: chunkTimeout + .seconds(size >> 20), stdinFile: nil)
        }
        guard result.succeeded else {
            throw SSHError(.transfer, hop: hop.label, step: .upload, "cannot write \(path): \(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return size
    }

    func close() async {
        guard let child = try? ChildProcess.spawn(ssh, arguments + ["-O", "exit", hop.address], environment: environment,
                                                  stdin: .null, stdout: .null, stderr: .null) else { return }
        _ = await child.waitForExit()
    }
}
