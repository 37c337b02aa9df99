import Foundation

/// Builds the remote command line for a `RemoteCommand` and interprets what comes back,
/// the same way for both transports.
///
/// sudo runs the command through a tiny wrapper that prints a marker on stderr once sudo has
/// let it run. Until then the command's stdin is held back, so sudo can never read it as a
/// password. With a password, sudo gets a marker prompt of its own (`-p`) and the password is
/// written only in answer to it: never when sudo does not ask (NOPASSWD, cached credentials),
/// where it would become the command's input. A second prompt means it was rejected; stdin is
/// then closed so sudo gives up.
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

    init(_ command: RemoteCommand) {
        sudo = command.sudo
        onOutput = command.onOutput
        marker = Array("\u{1}edgeup-\(UInt32.random(in: .min ... .max))-".utf8)
        if case .password = command.sudo {
            heldStdin = command.stdin
        } else {
            stdinQueue = command.stdin ?? Data()
            closeStdinWhenDrained = true
        }
    }

    private var markerText: String { String(decoding: marker.dropFirst(), as: UTF8.self) }

    /// The remote command line. `reportExit` adds a wrapper that reports the exit status or
    /// signal on stderr, for `ssh`, whose own exit status cannot tell a signal from an error.
    func commandLine(_ command: String, reportExit: Bool) -> String {
        let mark = "\\001" + markerText
        let sudoScript = "printf '\(mark)sudo-ok\\n' >&2; exec sh -c \"$1\""
        var line = command
        switch sudo {
        case .none: break
        case .passwordless: line = ShellQuote.command(["sudo", "-n", "--", "sh", "-c", sudoScript, "edgeup", command])
        case .password:
            // C locale so sudo's own messages ("incorrect password") are recognisable.
            let prompt = String(decoding: marker, as: UTF8.self) + "password\n"
            line = ShellQuote.command(["env", "LC_ALL=C", "sudo", "-S", "-p", prompt, "--", "sh", "-c", sudoScript, "edgeup", command])
        }
        guard reportExit else { return line }
        let exitScript = """
            sh -c "$1"; s=$?; if [ "$s" -gt 128 ]; then printf '\(mark)signal:%s\\n' "$(kill -l "$s")" >&2; \
            else printf '\(mark)exit:%d\\n' "$s" >&2; fi; exit "$s"
            """
        return ShellQuote.command(["sh", "-c", exitScript, "edgeup", line])
    }

    func receive(stdout chunk: Data) {
        guard !chunk.isEmpty else { return }
        stdout.append(chunk)
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
        stderr.append(chunk)
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
