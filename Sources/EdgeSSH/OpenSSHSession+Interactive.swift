import EdgeCore
import Foundation

extension OpenSSHSession: InteractiveTransport {
    /// The system `ssh` through this hop's master, on this process's own stdin, stdout and stderr
    /// (`-tt` for a pseudo-terminal, `-T` without): ssh does the raw mode and the window changes.
    /// edgeup only waits, and passes SIGINT, SIGTERM and SIGHUP on to it.
    func interactive(_ request: ShellRequest) async throws(SSHError) -> ShellExit {
        let line: String?
        if request.terminalType != nil {
            line = request.terminalCommandLine
        } else {
            switch request.sudo {
            case .none:
                line = request.command
            case .passwordless:
                line = ShellQuote.command(["sudo", "-n", "--", "sh", "-c", request.command ?? ShellRequest.rootShellWithoutTerminal])
            case .password:
                // The password is written only in answer to sudo's prompt, which needs edgeup
                // between ssh and the operator's stdio.
                throw SSHError(.sudo, hop: hop.label, step: .exec,
                               "a sudo password without a terminal is not supported by transport openssh",
                               hint: "add -t to type it at sudo's prompt, use transport libssh2 for this host, or allow NOPASSWD for \(hop.user)")
            }
        }
        var words = arguments + ["-o", "ControlMaster=no", request.terminalType == nil ? "-T" : "-tt", hop.address]
        if let line { words += ["--", line] }
        var environment = environment
        if let term = request.terminalType { environment["TERM"] = term }
        let child: ChildProcess
        do throws(OSError) {
            child = try ChildProcess.spawn(ssh, words, environment: environment, stdin: .inherit, stdout: .inherit, stderr: .inherit)
        } catch {
            throw SSHError(.localProcess, hop: hop.label, step: .exec, "cannot run \(ssh): \(errnoText(error.code))",
                           hint: "the open-file or process limit may be reached")
        }
        let interruption = Locked<Int32?>(nil)
        let signals = SignalWatch(LocalConsole.endingSignals) { number in
            interruption.withLock { $0 = $0 ?? number }
            child.terminate(number)
        }
        let expired = Locked(false)
        let timer = request.timeout.map { limit in
            Task {
                guard (try? await Task.sleep(for: limit)) != nil else { return }
                expired.withLock { $0 = true }
                child.terminate()
            }
        }
        let status = await child.waitForExit()
        timer?.cancel()
        signals.cancel()
        if let signal = interruption.withLock({ $0 }) { return ShellExit(interruptedBy: signal) }
        if let limit = request.timeout, expired.withLock({ $0 }) { throw ExecState.timedOut(hop, after: limit) }
        return ShellExit(exitStatus: status)
    }
}
