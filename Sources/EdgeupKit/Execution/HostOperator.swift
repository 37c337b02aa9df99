import EdgeCore
import EdgeSSH
import Foundation

/// Carries out planned actions on one host: uploads, files, service commands. Every privileged
/// command goes through the host's sudo mode; secrets travel only as file contents (a remote
/// write) or on stdin, never in a command line.
struct HostOperator: Sendable {
    let target: StoreHost
    let remote: any RemoteHost
    let sudo: SudoMode
    let desired: HostDesiredState
    let initSystem: InitSystem
    let log: @Sendable (String) async -> Void

    var label: String { target.label }
    var store: Store { target.store }
    var service: String { K3sPaths.serviceName(for: target.host.role) }

    /// Performs one action. `tokens` reads the cluster's tokens from the first server when needed.
    func perform(_ action: PlannedAction, tokens: TokenSource) async throws {
        switch action.kind {
        case .install, .upgrade:
            try await installBinary()
        case .uploadImages:
            guard case let .upload(_, images?) = desired.mode else { return }
            try await privileged(["mkdir", "-p", K3sPaths.airgapImages], step: "upload-images")
            let name = URL(fileURLWithPath: images.path).lastPathComponent
            try await upload(file: images.path, to: K3sPaths.airgapImages + "/" + name, mode: 0o644, step: "upload-images")
        case .writeScripts:
            guard let scripts = desired.scripts else { return }
            try await upload(data: scripts.killall, to: K3sPaths.killallScript, mode: 0o755, step: "write-scripts")
            try await upload(
                data: scripts.uninstall, to: K3sPaths.uninstallScript(for: target.host.role), mode: 0o755,
                step: "write-scripts")
        case .writeService:
            guard let files = desired.service else { return }
            let unitMode: UInt16 = initSystem == .openrc ? 0o755 : 0o644
            try await upload(data: files.unit, to: files.unitPath, mode: unitMode, step: "write-service")
            try await upload(data: files.environment, to: files.environmentPath, mode: 0o600, step: "write-service")
            switch initSystem {
            case .systemd:
                try await privileged(["systemctl", "daemon-reload"], step: "write-service")
                try await privileged(["systemctl", "enable", service], step: "write-service")
            case .openrc: try await privileged(["rc-update", "add", service, "default"], step: "write-service")
            }
        case .writeConfig:
            try await privileged(["mkdir", "-p", K3sPaths.configDirectory], step: "write-config")
            try await upload(data: desired.config.rendered, to: K3sPaths.config, mode: 0o600, step: "write-config")
        case .writeToken:
            // Servers join with the server token; agents only ever get the agent token.
            let secret = target.host.role == .server ? try await tokens.serverToken() : try await tokens.agentJoinToken()
            try await writeSecret(secret.value + "\n", to: K3sPaths.joinTokenFile, step: "write-token")
        case .writeAgentToken:
            let secret = try await tokens.agentSecret(generateOn: store.isFirstServer(target.host) ? target.host.name : nil)
            try await writeSecret(secret.value + "\n", to: K3sPaths.agentTokenFile, step: "write-agent-token")
        case .start:
            try await serviceCommand("start")
        case .restart:
            try await serviceCommand("restart")
        case .applyPlaybook, .fetchKubeconfig:
            // The store runner performs these once the hosts converged (PlaybookApplier, KubeconfigFetcher).
            return
        }
    }

    private func installBinary() async throws {
        switch desired.mode {
        case let .upload(binary, _):
            try await upload(file: binary.path, to: K3sPaths.binary, mode: 0o755, step: "install")
            try await privileged(
                script: #"for link in "$@"; do [ -e "$link" ] || ln -s k3s "$link"; done"#, K3sPaths.links, step: "install")
        case let .installer(version, channel, scriptURL):
            var environment = ["INSTALL_K3S_SKIP_START=true", "INSTALL_K3S_EXEC=\(target.host.role == .server ? "server" : "agent")"]
            if let version { environment.append("INSTALL_K3S_VERSION=\(version)") }
            if let channel { environment.append("INSTALL_K3S_CHANNEL=\(channel)") }
            if target.host.role == .agent, let url = target.store.joinURL {
                // The installer insists on a server URL for agents; the token stays in its 0600 file.
                environment += ["K3S_URL=\(url)", "K3S_TOKEN_FILE=\(K3sPaths.joinTokenFile)"]
            }
            // $1 is the script's URL, the rest the installer's environment: values never become shell text.
            try await privileged(
                script: """
                    set -e
                    url=$1; shift
                    script=$(mktemp)
                    trap 'rm -f "$script"' EXIT
                    if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 3 -o "$script" "$url"; else wget -qO "$script" "$url"; fi
                    env "$@" sh "$script"
                    """, [scriptURL] + environment, step: "install", timeout: .seconds(900))
        }
    }

    /// A joiner must reach the server's API before it starts, or k3s retries forever in the dark.
    /// Uses whatever the host has (curl, wget, bash, nc); says so when it has none.
    func checkReachable(_ url: String) async throws {
        guard let components = URLComponents(string: url), let host = components.host else { return }
        let port = String(components.port ?? 6443)
        let cacerts = "https://\(host.contains(":") ? "[\(host)]" : host):\(port)/cacerts"
        let result = try await runPrivileged(
            script: """
                host=$1 port=$2 url=$3
                if command -v curl >/dev/null 2>&1; then curl -sk --max-time 5 -o /dev/null "$url"
                elif command -v wget >/dev/null 2>&1; then wget -q -T 5 --no-check-certificate -O /dev/null "$url"
                elif command -v bash >/dev/null 2>&1; then timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port"
                elif command -v nc >/dev/null 2>&1; then nc -z -w 5 "$host" "$port"
                else exit 3; fi
                """, [host, port, cacerts], step: "preflight", timeout: .seconds(30))
        switch result.exitStatus {
        case 0: return
        case 3: await log("no curl, wget, bash or nc: cannot check that \(url) is reachable\n")
        default:
            throw ProvisioningError(
                host: label, step: "preflight", "cannot reach the cluster at \(url) from this host",
                lastSeen: Self.tail(result.stderrText, lines: 2))
        }
    }

    private func serviceCommand(_ verb: String) async throws {
        // systemd keeps the unit it loaded last: a run killed between writing the unit and reloading
        // it would otherwise start the old definition.
        if initSystem == .systemd { try await privileged(["systemctl", "daemon-reload"], step: verb) }
        let command = initSystem == .systemd ? ["systemctl", verb, service] : ["rc-service", service, verb]
        let result = try await runPrivileged(command, step: verb, timeout: .seconds(300))
        guard result.succeeded else {
            throw ProvisioningError(
                host: label, step: verb, "\(service) failed to \(verb): \(Self.tail(result.stderrText, lines: 3))",
                logTail: await serviceLogTail())
        }
    }

    /// Records, before the first change, that this host owes a (re)start; `clearPendingRestart`
    /// removes it once the node is Ready again.
    func markPendingRestart(_ reason: String) async throws {
        try await privileged(["mkdir", "-p", K3sPaths.configDirectory], step: "mark-restart")
        try await upload(data: reason + "\n", to: K3sPaths.pendingRestartFile, mode: 0o600, step: "mark-restart")
    }

    func clearPendingRestart() async throws {
        try await privileged(["rm", "-f", K3sPaths.pendingRestartFile], step: "readiness")
    }

    /// A secret goes from memory into a 0600 file: never in a command line, and the log names only the path.
    private func writeSecret(_ text: String, to path: String, step: String) async throws {
        try await privileged(["mkdir", "-p", (path as NSString).deletingLastPathComponent], step: step)
        try await upload(data: text, to: path, mode: 0o600, step: step)
    }

    /// The last lines of the k3s service log, for failure reports.
    func serviceLogTail(lines: Int = 25) async -> String {
        let command = initSystem == .systemd
            ? ["journalctl", "-u", service, "-n", String(lines), "--no-pager", "-o", "cat"]
            : ["tail", "-n", String(lines), "/var/log/\(service).log"]
        let result = try? await remote.run(RemoteCommand(ShellQuote.command(command), sudo: sudo, timeout: .seconds(20)))
        return result?.stdoutText ?? ""
    }

    /// Runs `argv` as root. Each word is quoted on its own, so no value — a node name from a host's
    /// facts, a path, a version — is ever read as shell syntax.
    @discardableResult
    func privileged(
        _ argv: [String], step: String, timeout: Duration = .seconds(120), stdin: Data? = nil, shown: String? = nil
    ) async throws -> CommandResult {
        try Self.check(try await runPrivileged(argv, step: step, timeout: timeout, stdin: stdin, shown: shown), on: label, step: step)
    }

    /// Runs a fixed `script` as root; values reach it only as its positional parameters ("$1", …).
    @discardableResult
    func privileged(
        script: StaticString, _ arguments: [String] = [], step: String, timeout: Duration = .seconds(120), stdin: Data? = nil
    ) async throws -> CommandResult {
        try Self.check(
            try await runPrivileged(script: script, arguments, step: step, timeout: timeout, stdin: stdin), on: label, step: step)
    }

    func runPrivileged(
        script: StaticString, _ arguments: [String] = [], step: String, timeout: Duration, stdin: Data? = nil
    ) async throws -> CommandResult {
        try await runPrivileged(["sh", "-c", script.description, "edgeup"] + arguments, step: step, timeout: timeout, stdin: stdin)
    }

    /// `stdin` feeds the command data that must not be in a command line (a manifest with a secret);
    /// `shown` replaces the command in the host log when its input holds one.
    func runPrivileged(
        _ argv: [String], step: String, timeout: Duration, stdin: Data? = nil, shown: String? = nil
    ) async throws -> CommandResult {
        let command = ShellQuote.command(argv)
        do {
            let result = try await remote.run(RemoteCommand(command, stdin: stdin, sudo: sudo, timeout: timeout))
            await log("$ \(shown ?? command)\n\(result.stdoutText)\(result.stderrText)")
            return result
        } catch {
            throw ProvisioningError(error, on: label, step: step)
        }
    }

    private static func check(_ result: CommandResult, on label: String, step: String) throws -> CommandResult {
        guard result.succeeded else {
            throw ProvisioningError(
                host: label, step: step,
                "command failed (\(result.exitStatus.map { "exit \($0)" } ?? "signal \(result.exitSignal ?? "?")")): \(tail(result.stderrText, lines: 3))")
        }
        return result
    }

    private func upload(file: String, to path: String, mode: UInt16, step: String) async throws {
        do {
            let outcome = try await remote.upload(file: file, to: path, mode: mode, sudo: sudo)
            await log("upload \(file) → \(path): \(outcome)\n")
        } catch {
            throw ProvisioningError(error, on: label, step: step)
        }
    }

    func upload(data text: String, to path: String, mode: UInt16, step: String) async throws {
        do {
            let outcome = try await remote.upload(data: Data(text.utf8), to: path, mode: mode, sudo: sudo)
            await log("write \(path): \(outcome)\n")
        } catch {
            throw ProvisioningError(error, on: label, step: step)
        }
    }

    static func tail(_ text: String, lines: Int) -> String {
        let kept = text.split(separator: "\n").suffix(lines).joined(separator: " / ")
        return kept.isEmpty ? "(no output)" : kept
    }
}
