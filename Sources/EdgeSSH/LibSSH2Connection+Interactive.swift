import CLibSSH2
import Foundation

extension LibSSH2Connection: InteractiveTransport {
    /// A session channel with, on request, a pseudo-terminal of the local window's size; then the
    /// login shell or the command. Without a pseudo-terminal a command runs in `ExecState`'s
    /// wrapper, as `exec` does: sudo the same way, and the command ends when edgeup goes away.
    func interactive(_ request: ShellRequest) async throws(SSHError) -> ShellExit {
        try ensureUsable(.exec)
        let deadline = request.timeout.map { Deadline($0) } ?? .none
        let channel = try await openSessionChannel(.exec, deadline)
        let console: LocalConsole
        do throws(SSHError) {
            console = try LocalConsole.start(rawTerminal: request.terminalType != nil, hop: hop.label)
        } catch {
            await discard(channel)
            throw error
        }
        defer {
            reactor.forget(fd: console.input)
            reactor.forget(fd: console.control)
            console.end()
        }
        var state: ExecState?
        var line = request.terminalCommandLine
        if request.terminalType == nil && (request.command != nil || request.sudo != .none) {
            let command = RemoteCommand(request.command ?? ShellRequest.rootShellWithoutTerminal, sudo: request.sudo) { chunk in
                switch chunk {
                case .stdout(let data): console.emit(STDOUT_FILENO, data)
                case .stderr(let data): console.emit(STDERR_FILENO, data)
                }
            }
            let wrapped = ExecState(command, collectsOutput: false)
            line = wrapped.commandLine(command.command, reportExit: false)
            state = wrapped
        }
        do throws(SSHError) {
            if let term = request.terminalType {
                let (columns, rows) = LocalConsole.windowSize()
                let rc = try await call(.exec, deadline) {
                    libssh2_channel_request_pty_ex(channel, term, UInt32(term.utf8.count), nil, 0, columns, rows, 0, 0)
                }
                guard rc == 0 else { throw failed(.channel, .exec, "the server refused a pseudo-terminal", code: rc) }
            }
            let rc = try await call(.exec, deadline) {
                guard let line else { return libssh2_channel_process_startup(channel, "shell", 5, nil, 0) }
                return libssh2_channel_process_startup(channel, "exec", 4, line, UInt32(line.utf8.count))
            }
            guard rc == 0 else {
                throw failed(.channel, .exec, line == nil ? "the server refused to start a shell" : "the server refused to start the command", code: rc)
            }
            if let signal = try await relay(channel, console, state, resizes: request.terminalType != nil, deadline) {
                await discard(channel)
                return ShellExit(interruptedBy: signal)
            }
        } catch {
            await discard(channel)
            throw error.kind == .timeout ? ExecState.timedOut(hop, after: deadline.limit) : error
        }
        // finishChannel frees the channel even when it throws: no discard after this point.
        let (status, signal) = try await finishChannel(channel, .exec, deadline)
        let exit = ShellExit(exitStatus: signal == nil ? status : nil, exitSignal: signal)
        // The sudo verdict (password rejected, sudo -n refused) is an error, as under `run`.
        _ = try state?.finish(exitStatus: exit.exitStatus, exitSignal: signal, hop: hop)
        return exit
    }

    /// Carries the operator's input to the channel and its output back, window changes too, until
    /// the remote side ends (nil) or a local signal ends the session (its number). Like `pump`,
    /// the socket is waited on only when nothing moved.
    private func relay(
        _ channel: OpaquePointer, _ console: LocalConsole, _ state: ExecState?, resizes: Bool, _ deadline: Deadline
    ) async throws(SSHError) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        // Accepted for the channel, not yet written; `held`: typed before sudo may see it.
        var queue = Data()
        var held = Data()
        var inputOpen = true
        var eofSent = false
        var writeBlocked = false
        var size: (columns: Int32, rows: Int32)?
        var open: [Int32: Bool] = [0: true, 1: true]
        var rounds = 0
        while open[0]! || open[1]! {
            if closed { throw failure ?? cancelledError(.exec) }
            console.drainControl()
            if let signal = console.interruptedBy {
                // libssh2 refuses every other send until a half-sent write is out.
                if writeBlocked { await flushStdin(channel, queue, 0) }
                return signal
            }
            var progressed = false
            if resizes && size == nil && console.takeResize() { size = LocalConsole.windowSize() }
            if let pending = size {
                let rc = libssh2_channel_request_pty_size_ex(channel, pending.columns, pending.rows, 0, 0)
                if rc != LIBSSH2_ERROR_EAGAIN && rc != LIBSSH2_ERROR_BAD_USE {
                    size = nil
                    progressed = true
                }
            }
            if let state {
                // sudo's password answer first, then what the operator typed once sudo ran.
                queue.append(state.stdinQueue)
                state.stdinQueue = Data()
                if state.acceptsStdin && !held.isEmpty {
                    queue.append(held)
                    held = Data()
                }
            }
            if inputOpen && queue.count < buffer.count {
                let n = read(console.input, &buffer, buffer.count)
                if n > 0 {
                    if let state, !state.acceptsStdin { held.append(contentsOf: buffer[0..<n]) } else { queue.append(contentsOf: buffer[0..<n]) }
                    progressed = true
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    inputOpen = false
                    progressed = true
                }
            }
            if !queue.isEmpty {
                let n = queue.withUnsafeBytes { raw in
                    libssh2_channel_write_ex(channel, 0, raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
                }
                writeBlocked = n == Int(LIBSSH2_ERROR_EAGAIN)
                if n > 0 {
                    queue.removeFirst(n)
                    progressed = true
                } else if n < 0 && n != Int(LIBSSH2_ERROR_EAGAIN) && n != Int(LIBSSH2_ERROR_BAD_USE) {
                    let error = failed(.channel, .exec, "writing stdin", code: Int32(n))
                    if error.kind == .disconnected { throw error }
                    queue = Data()  // the remote program closed its stdin; drop the rest
                    inputOpen = false
                }
            } else if !eofSent && wantsEOF(state, inputOpen: inputOpen, held: held) && sendEOF(channel) {
                eofSent = true
                progressed = true
            }
            if try readStreams(channel, into: &buffer, open: &open, { stream, chunk in
                switch (state, stream) {
                case (let state?, 0): state.receive(stdout: chunk)
                case (let state?, _): state.receive(stderr: chunk)
                case (nil, 0): console.emit(STDOUT_FILENO, chunk)
                case (nil, _): console.emit(STDERR_FILENO, chunk)
                }
            }) {
                progressed = true
            }
            rounds += 1
            if progressed {
                if rounds % 16 == 0 { await Task.yield() }  // a busy stream must not starve keepalives
                continue
            }
            guard ContinuousClock.now < deadline.instant else { throw ExecState.timedOut(hop, after: deadline.limit) }
            let directions = libssh2_session_block_directions(session)
            var events: IOEvents = directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 ? .writable : []
            if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 || events.isEmpty { events.insert(.readable) }
            var interests: [(fd: Int32, events: IOEvents)] = [(fd, events), (console.control, .readable)]
            if inputOpen && queue.count < buffer.count { interests.append((console.input, .readable)) }
            // Bounded: libssh2 can hold buffered data that readiness cannot show.
            let result = await reactor.waitAny(interests, until: min(deadline.instant, .now + .seconds(1)))
            if result == .cancelled && Task.isCancelled {
                if writeBlocked { await flushStdin(channel, queue, 0) }
                throw cancelledError(.exec)
            }
        }
        return nil
    }

    /// EOF goes out once the operator's input ended and all of it went, or at once when sudo
    /// rejected the password (so sudo gives up instead of waiting for another).
    private func wantsEOF(_ state: ExecState?, inputOpen: Bool, held: Data) -> Bool {
        guard let state else { return !inputOpen }
        guard state.closeStdinWhenDrained else { return false }
        return state.acceptsStdin ? !inputOpen && held.isEmpty : true
    }
}
