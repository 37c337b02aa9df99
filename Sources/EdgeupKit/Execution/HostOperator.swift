import EdgeSSH
import Foundation

/// Carries out planned actions on one host: uploads, files, service commands. Every privileged
/// command goes through the host's sudo mode; secrets travel only as file contents over SFTP or
/// stdin, never in a command line.
struct HostOperator: Sendable {
    let target: StoreHost
    let remote: any RemoteHost
    let sudo: SudoMode
    let desired: HostDesiredState
    let initSystem: InitSystem
    let log: @Sendable (String) async -> Void

    var label: String { target.label }
    var service: String { K3sPaths.serviceName(for: target.host.role) }

    /// Performs one action. `token` is the cluster's join token, read from the first server when needed.
    func perform(_ action: PlannedAction, token: @Sendable () async throws -> Secret) async throws {
        switch action.kind {
        case .install, .upgrade:
            try await installBinary()
        case .uploadImages:
            guard case let .upload(_, images?) = desired.mode else { return }
            try await privileged("mkdir -p \(K3sPaths.airgapImages)", step: "upload-images")
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
            case .systemd: try await privileged("systemctl daemon-reload && systemctl enable \(service)", step: "write-service")
            case .openrc: try await privileged("rc-update add \(service) default", step: "write-service")
            }
        case .writeConfig:
            try await privileged("mkdir -p \(K3sPaths.configDirectory)", step: "write-config")
            try await upload(data: desired.config.rendered, to: K3sPaths.config, mode: 0o600, step: "write-config")
        case .writeToken:
            let secret = try await token()
            try await privileged("mkdir -p \(K3sPaths.configDirectory)", step: "write-token")
            do {
                _ = try await remote.upload(
                    data: Data((secret.value + "\n").utf8), to: K3sPaths.joinTokenFile, mode: 0o600, sudo: sudo)
            } catch {
                throw ProvisioningError(error, on: label, step: "write-token")
            }
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
            let links = K3sPaths.links.map { link in
                "[ -e \(ShellQuote.quote(link)) ] || ln -s k3s \(ShellQuote.quote(link))"
            }
            try await privileged(links.joined(separator: "; "), step: "install")
        case let .installer(version, channel, scriptURL):
            var environment = ["INSTALL_K3S_SKIP_START=true", "INSTALL_K3S_EXEC=\(target.host.role == .server ? "server" : "agent")"]
            if let version { environment.append("INSTALL_K3S_VERSION=\(ShellQuote.quote(version))") }
            if let channel { environment.append("INSTALL_K3S_CHANNEL=\(ShellQuote.quote(channel))") }
            if target.host.role == .agent, let url = target.store.joinURL {
                // The installer insists on a server URL for agents; the token stays in its 0600 file.
                environment += ["K3S_URL=\(ShellQuote.quote(url))", "K3S_TOKEN_FILE=\(K3sPaths.joinTokenFile)"]
            }
            let url = ShellQuote.quote(scriptURL)
            try await privileged(
                """
                set -e
                script=$(mktemp)
                trap 'rm -f "$script"' EXIT
                if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 3 -o "$script" \(url); else wget -qO "$script" \(url); fi
                \(environment.joined(separator: " ")) sh "$script"
                """, step: "install", timeout: .seconds(900))
        }
    }

    /// A joiner must reach the server's API before it starts, or k3s retries forever in the dark.
    /// Uses whatever the host has (curl, wget, bash, nc); says so when it has none.
    func checkReachable(_ url: String) async throws {
        guard let components = URLComponents(string: url), let host = components.host else { return }
        let port = components.port ?? 6443
        let address = ShellQuote.quote(host)
        let result = try await runPrivileged(
            """
            if command -v curl >/dev/null 2>&1; then curl -sk --max-time 5 -o /dev/null https://\(host.contains(":") ? "[\(host)]" : host):\(port)/cacerts
            elif command -v wget >/dev/null 2>&1; then wget -q -T 5 --no-check-certificate -O /dev/null https://\(host.contains(":") ? "[\(host)]" : host):\(port)/cacerts
            elif command -v bash >/dev/null 2>&1; then timeout 5 bash -c "exec 3<>/dev/tcp/\(host)/\(port)"
            elif command -v nc >/dev/null 2>&1; then nc -z -w 5 \(address) \(port)
            else exit 3; fi
            """, step: "preflight", timeout: .seconds(30))
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
        let command = initSystem == .systemd ? "systemctl \(verb) \(service)" : "rc-service \(service) \(verb)"
        let result = try await runPrivileged(command, step: verb, timeout: .seconds(300))
        guard result.succeeded else {
            throw ProvisioningError(
                host: label, step: verb, "\(service) failed to \(verb): \(Self.tail(result.stderrText, lines: 3))",
                logTail: await serviceLogTail())
        }
    }

    /// The last lines of the k3s service log, for failure reports.
    func serviceLogTail(lines: Int = 25) async -> String {
        let command = initSystem == .systemd
            ? "journalctl -u \(service) -n \(lines) --no-pager -o cat 2>/dev/null"
            : "tail -n \(lines) /var/log/\(service).log 2>/dev/null"
        let result = try? await remote.run(RemoteCommand(command, sudo: sudo, timeout: .seconds(20)))
        return result?.stdoutText ?? ""
    }

    @discardableResult
    func privileged(
        _ script: String, step: String, timeout: Duration = .seconds(120), stdin: Data? = nil, shown: String? = nil
    ) async throws -> CommandResult {
        let result = try await runPrivileged(script, step: step, timeout: timeout, stdin: stdin, shown: shown)
        guard result.succeeded else {
            throw ProvisioningError(
                host: label, step: step,
                "command failed (\(result.exitStatus.map { "exit \($0)" } ?? "signal \(result.exitSignal ?? "?")")): \(Self.tail(result.stderrText, lines: 3))")
        }
        return result
    }

    /// Runs `script` as root. `stdin` feeds it data that must not be in a command line (a
    /// manifest with a secret); `shown` replaces the script in the host log when it holds one.
    func runPrivileged(
        _ script: String, step: String, timeout: Duration, stdin: Data? = nil, shown: String? = nil
    ) async throws -> CommandResult {
        do {
            let result = try await remote.run(RemoteCommand(
                ShellQuote.command(["sh", "-c", script]), stdin: stdin, sudo: sudo, timeout: timeout))
            await log("$ \(shown ?? script)\n\(result.stdoutText)\(result.stderrText)")
            return result
        } catch {
            throw ProvisioningError(error, on: label, step: step)
        }
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
