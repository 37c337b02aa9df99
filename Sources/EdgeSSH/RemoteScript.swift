import EdgeCore
import Foundation

/// Builds the remote command line for a `RemoteCommand` and interprets what comes back,
/// the same way for both transports.
///
/// Every command runs inside a small wrapper that talks to edgeup through marker lines on stderr
/// (a random per-command prefix, stripped from the output):
/// - under sudo, `sudo-ok` once sudo let it run. Until then the command's stdin is held back, so
///   sudo can never read it as a password. With a password, sudo gets a marker prompt of its own
///   (`-p`) and the password is written only in answer to it: never when sudo does not ask
///   (NOPASSWD, cached credentials), where it would become the command's input. A second prompt
///   means it was rejected; stdin is then closed so sudo gives up.
/// - `alive` every second: when edgeup goes away (timeout, cancel, crash, cut link) sshd closes
///   the pipes, the next one fails, and the wrapper ends the command's process group. Closing a
///   channel alone leaves a remote process running.
final class ExecState {
    let sudo: SudoMode
    private let onOutput: (@Sendable (OutputChunk) -> Void)?
    private let marker: [UInt8]

    private(set) var stdout = Data()
    private(set) var stderr = Data()
    /// Bytes to write to the remote stdin now.
    var stdinQueue = Data()
    /// Send EOF once `stdinQueue` is drained.
    private(set) var closeStdinWhenDrained = false
    private var heldStdin: Data?
    private var stderrCarry = [UInt8]()
    private var stderrBeforeSudo = Data()
    private var sawSudoOK = false
    private var answeredPrompt = false
    private var passwordRejected = false
    private(set) var reportedExit: Int32?
    private(set) var reportedSignal: String?
    /// Off for an interactive command, whose output only streams: it may run for hours.
    private let collectsOutput: Bool

    init(_ command: RemoteCommand, collectsOutput: Bool = true) {
        sudo = command.sudo
        onOutput = command.onOutput
        self.collectsOutput = collectsOutput
        marker = Array("\u{1}edgeup-\(UInt32.random(in: .min ... .max))-".utf8)
        if case .password = command.sudo {
            heldStdin = command.stdin
        } else {
            stdinQueue = command.stdin ?? Data()
            closeStdinWhenDrained = true
        }
    }

    /// Whether input from the operator may go to the command yet: with a password, not before
    /// sudo ran it (sudo would read it as the password).
    var acceptsStdin: Bool {
        if case .password = sudo { return sawSudoOK }
        return true
    }

    private var markerText: String { String(decoding: marker.dropFirst(), as: UTF8.self) }

    /// The remote command line. `reportExit` adds a wrapper that reports the exit status or
    /// signal on stderr, for `ssh`, whose own exit status cannot tell a signal from an error.
    func commandLine(_ command: String, reportExit: Bool) -> String {
        let mark = "\\001" + markerText
        // The watchdog holds only stderr (its sleep not even that), so it never delays the
        // channel's EOF; it is killed as soon as the command is done. The command's status comes
        // back as-is, a signal by re-raising it (an exit above 128 reads as a signal).
        let wrapper = (sudo == .none ? "" : "printf '\(mark)sudo-ok\\n' >&2; ") + """
            (exec </dev/null >/dev/null; trap '' PIPE; \
            while sleep 1 2>/dev/null; do printf '\(mark)alive\\n' >&2 || break; done; \
            trap '' TERM; kill -TERM 0; sleep 2; kill -KILL 0) & w=$!; \
            sh -c "$1"; s=$?; kill "$w" 2>/dev/null; \
            [ "$s" -gt 128 ] && kill -s "$(kill -l "$s" 2>/dev/null)" $$ 2>/dev/null; exit "$s"
            """
        let prefix: [String] = switch sudo {
        case .none: []
        case .passwordless: ["sudo", "-n", "--"]
        // C locale so sudo's own messages ("incorrect password") are recognisable.
        case .password: ["env", "LC_ALL=C", "sudo", "-S", "-p", String(decoding: marker, as: UTF8.self) + "password\n", "--"]
        }
        let line = ShellQuote.command(prefix + ["sh", "-c", wrapper, "edgeup", command])
        guard reportExit else { return line }
        let exitScript = """
            sh -c "$1"; s=$?; n=; [ "$s" -gt 128 ] && n=$(kill -l "$s" 2>/dev/null); \
            if [ -n "$n" ]; then printf '\(mark)signal:%s\\n' "$n" >&2; else printf '\(mark)exit:%d\\n' "$s" >&2; fi; exit "$s"
            """
        return ShellQuote.command(["sh", "-c", exitScript, "edgeup", line])
    }

    func receive(stdout chunk: Data) {
        guard !chunk.isEmpty else { return }
        if collectsOutput { stdout.append(chunk) }
        onOutput?(.stdout(chunk))
    }

    func receive(stderr chunk: Data) {
        stderrCarry += chunk
        while !stderrCarry.isEmpty {
            guard let start = stderrCarry.firstIndex(of: marker[0]) else {
                emitStderr(stderrCarry[...])
                stderrCarry = []
                return
            }
            emitStderr(stderrCarry[..<start])
            let rest = stderrCarry[start...]
            if rest.count < marker.count {
                if marker.starts(with: rest) {
                    stderrCarry = Array(rest)  // maybe a marker split across reads
                    return
                }
            } else if rest.starts(with: marker) {
                guard let newline = rest.firstIndex(of: UInt8(ascii: "\n")) else {
                    stderrCarry = Array(rest)
                    return
                }
                handleMarker(String(decoding: rest[(start + marker.count)..<newline], as: UTF8.self))
                stderrCarry = Array(stderrCarry[(newline + 1)...])
                continue
            }
            emitStderr(rest.prefix(1))
            stderrCarry = Array(rest.dropFirst())
        }
    }

    private func emitStderr(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        let chunk = Data(bytes)
        if collectsOutput { stderr.append(chunk) }
        onOutput?(.stderr(chunk))
        if sudo != .none && !sawSudoOK { stderrBeforeSudo.append(chunk) }
    }

    private func handleMarker(_ text: String) {
        if text == "sudo-ok" {
            sawSudoOK = true
            if let held = heldStdin {
                stdinQueue.append(held)
                heldStdin = nil
            }
            closeStdinWhenDrained = true
        } else if text == "password" {
            answerPrompt()
        } else if text.hasPrefix("exit:") {
            reportedExit = Int32(text.dropFirst(5))
        } else if text.hasPrefix("signal:") {
            reportedSignal = String(text.dropFirst(7))
        }
    }

    /// sudo's own prompt: the first gets the password, a second means it was wrong.
    private func answerPrompt() {
        guard case .password(let secret) = sudo, !sawSudoOK else { return }
        if answeredPrompt {
            passwordRejected = true
            heldStdin = nil
            closeStdinWhenDrained = true
        } else {
            answeredPrompt = true
            stdinQueue.append(Data((secret.value + "\n").utf8))
        }
    }

    /// The error of a command that ran out of time; the caller closes the connection, which
    /// makes the wrapper stop the command on the host.
    static func timedOut(_ hop: SSHHop, after limit: Duration) -> SSHError {
        SSHError(.timeout, hop: hop.label, step: .exec,
                 "the command did not finish within \(limit); edgeup closed the connection, which stops it on the host",
                 hint: "raise the command timeout if it legitimately takes longer")
    }

    /// The result, or the sudo failure that kept the command from running.
    func finish(exitStatus: Int32?, exitSignal: String?, hop: SSHHop) throws(SSHError) -> CommandResult {
        if !stderrCarry.isEmpty {
            emitStderr(stderrCarry[...])
            stderrCarry = []
        }
        if sudo != .none && !sawSudoOK {
            let said = String(decoding: stderrBeforeSudo, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if passwordRejected || said.contains("incorrect password") {
                throw SSHError(.sudo, hop: hop.label, step: .exec, "sudo password rejected for user \(hop.user)",
                               hint: "check the sudo password configured for this host")
            }
            if said.contains("password is required") {
                throw SSHError(.sudo, hop: hop.label, step: .exec, "sudo wants a password for user \(hop.user) (sudo -n refused)",
                               hint: "give a sudo password for this host, or allow NOPASSWD for \(hop.user) in sudoers")
            }
            throw SSHError(.sudo, hop: hop.label, step: .exec,
                           "sudo did not run the command: \(said.isEmpty ? "exit status \(exitStatus.map(String.init) ?? "none")" : said)",
                           hint: "check that sudo is installed and that \(hop.user) may use it")
        }
        return CommandResult(exitStatus: exitStatus, exitSignal: exitSignal, stdout: stdout, stderr: stderr)
    }
}
