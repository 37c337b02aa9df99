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
    /// What the plan decided for this host.
    let planned: HostWork
    /// The store's upgrade, when the plan has one (it names the snapshot).
    let upgrade: StoreUpgrade?
    /// `--drain`: how an agent is drained before its upgrade restart.
    var drain: DrainPolicy? { planned.drain }
    /// The run's id, part of the names of what a run leaves on a host (a snapshot).
    let run: String
    let log: @Sendable (String) async -> Void
    /// The store's LAN relay, for stores of several hosts (see `LANRelay`).
    var relay: LANRelay?

    var distribution: any Distribution { planned.distribution }
    var files: DistributionFiles { distribution.files }
    var desired: HostDesiredState { planned.desired }
    var initSystem: InitSystem { planned.desired.initSystem }
    var nodeName: String { planned.nodeName }

    var label: String { target.label }
    var store: Store { target.store }
    var service: String { distribution.serviceName(for: target.host.role) }

    var serviceManager: ServiceManager { ServiceManager(initSystem: initSystem) }

    /// Performs one host action (see `HostActions`). `tokens` reads the cluster's tokens from the
    /// first server when needed.
    /// Returns what the step reports (a snapshot's file name).
    func perform(_ action: PlannedAction, cluster: ClusterAccess) async throws -> String? {
        guard let hostAction = HostActions.action(action.kind) else {
            preconditionFailure("\(action.kind.rawValue) is a store-wide action, not a host's")
        }
        return try await hostAction.perform(on: self, cluster: cluster)
    }

    func installBinary() async throws {
        switch desired.mode {
        case let .upload(binary, _):
            try await upload(artifact: binary, to: files.binary, mode: 0o755, step: .action(.install))
            if let after = distribution.afterBinaryUpload {
                try await privileged(script: after.script, after.arguments, step: .action(.install))
            }
        case let .installer(version, channel, scriptURL):
            let installer = distribution.installer(
                for: target.host, in: store, version: version, channel: channel, scriptURL: scriptURL)
            try await privileged(script: installer.script, installer.arguments, step: .action(.install), timeout: .seconds(900))
        }
    }

    /// Uploads an upgrade's binary beside the running one and checks its SHA-256 there.
    func stageBinary() async throws {
        guard case let .upload(binary, _) = desired.mode else { return }
        try await upload(artifact: binary, to: files.stagedBinary, mode: 0o755, step: .action(.stageBinary))
        try await verify(files.stagedBinary, sha256: binary.sha256, step: .action(.stageBinary))
    }

    /// Stops the service and renames the staged binary into place, keeping the one it replaces
    /// for a rollback. The staged file is checked again: it is what the restart will run.
    func swapStagedBinary() async throws {
        guard case let .upload(binary, _) = desired.mode else { return }
        let step = ProvisioningStep.action(.upgrade)
        try await verify(files.stagedBinary, sha256: binary.sha256, step: step)
        try await privileged(serviceManager.control("stop", service), step: step, timeout: .seconds(300))
        try await privileged(
            script: """
                set -e
                if [ -e "$1" ]; then ln -f -- "$1" "$3"; fi
                mv -f -- "$2" "$1"
                sync
                """, [files.binary, files.stagedBinary, files.previousBinary], step: step)
        if let after = distribution.afterBinaryUpload {
            try await privileged(script: after.script, after.arguments, step: step)
        }
    }

    /// Takes the upgrade's snapshot; returns its file name in the snapshots folder. SQLite: stops
    /// the server first, so the copy is consistent (the swap that follows keeps it stopped).
    func takeSnapshot() async throws -> String {
        let step = ProvisioningStep.action(.snapshot)
        guard let upgrade else { throw ProvisioningError(host: label, step: step, "the plan has no upgrade to snapshot for") }
        let name = upgrade.snapshotName(run: run)
        switch upgrade.datastore {
        case .etcd:
            try await privileged(distribution.etcdSnapshot(name: name), step: step, timeout: .seconds(600))
        case .sqlite:
            try await privileged(serviceManager.control("stop", service), step: step, timeout: .seconds(300))
            try await privileged(
                script: """
                    set -e
                    dir=$1/$2; shift 2
                    mkdir -p -m 700 "$dir"
                    for file in "$@"; do if [ -e "$file" ]; then cp -p -- "$file" "$dir/"; fi; done
                    [ -e "$dir/${1##*/}" ] || { echo "no $1 to copy" >&2; exit 1; }
                    sync
                    """, [files.snapshots, name] + files.sqliteDatastore, step: step, timeout: .seconds(600))
        }
        // k3s adds the node name and a timestamp to an etcd snapshot's file name.
        let listed = try await privileged(
            script: #"for file in "$1/$2"*; do if [ -e "$file" ]; then echo "${file##*/}"; fi; done"#,
            [files.snapshots, name], step: step)
        guard let file = listed.stdoutText.split(separator: "\n").last.map(String.init) else {
            throw ProvisioningError(host: label, step: step, "no snapshot named \(name) in \(files.snapshots) after taking it")
        }
        return file.shownAsUntrusted
    }

    private func verify(_ path: String, sha256: String, step: ProvisioningStep) async throws {
        let result = try await privileged(["sha256sum", "--", path], step: step)
        let found = String(result.stdoutText.prefix(64))
        guard found == sha256 else {
            throw ProvisioningError(
                host: label, step: step, "\(path) has SHA-256 \(found.prefix(12)), not the binary's \(sha256.prefix(12))")
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
                """, [host, port, cacerts], step: .preflight, timeout: .seconds(30))
        switch result.exitStatus {
        case 0: return
        case 3: await log("no curl, wget, bash or nc: cannot check that \(url) is reachable\n")
        default:
            throw ProvisioningError(
                host: label, step: .preflight, "cannot reach the cluster at \(url) from this host",
                lastSeen: Self.tail(result.stderrText, lines: 2))
        }
    }

    /// `action` is start or restart.
    func serviceCommand(_ action: ActionKind) async throws {
        let (verb, step) = (action.rawValue, ProvisioningStep.action(action))
        if let reload = serviceManager.reloadDefinitions { try await privileged(reload, step: step) }
        let result = try await runPrivileged(serviceManager.control(verb, service), step: step, timeout: .seconds(300))
        guard result.succeeded else {
            throw ProvisioningError(
                host: label, step: step, "\(service) failed to \(verb): \(Self.tail(result.stderrText, lines: 3))",
                logTail: await serviceLogTail())
        }
    }

    /// Records, before the first change, that this host owes a (re)start; `clearPendingRestart`
    /// removes it once the node is Ready again.
    func markPendingRestart(_ reason: String) async throws {
        try await privileged(["mkdir", "-p", files.configDirectory], step: .markRestart)
        try await upload(data: reason + "\n", to: files.pendingRestart, mode: 0o600, step: .markRestart)
    }

    func clearPendingRestart() async throws {
        try await privileged(["rm", "-f", files.pendingRestart], step: .readiness)
    }

    /// A secret goes from memory into a 0600 file: never in a command line, and the log names only the path.
    func writeSecret(_ text: String, to path: String, step: ProvisioningStep) async throws {
        try await privileged(["mkdir", "-p", (path as NSString).deletingLastPathComponent], step: step)
        try await upload(data: text, to: path, mode: 0o600, step: step)
    }

    /// The last lines of the k3s service log, for failure reports.
    func serviceLogTail(lines: Int = 25) async -> String {
        let command = ShellQuote.command(serviceManager.logTail(service, lines: lines))
        let result = try? await remote.run(RemoteCommand(command, sudo: sudo, timeout: .seconds(20)))
        return result?.stdoutText ?? ""
    }

    /// Runs `argv` as root. Each word is quoted on its own, so no value — a node name from a host's
    /// facts, a path, a version — is ever read as shell syntax.
    @discardableResult
    func privileged(
        _ argv: [String], step: ProvisioningStep, timeout: Duration = .seconds(120), stdin: Data? = nil, shown: String? = nil
    ) async throws -> CommandResult {
        try Self.check(try await runPrivileged(argv, step: step, timeout: timeout, stdin: stdin, shown: shown), on: label, step: step)
    }

    /// Runs a fixed `script` as root; values reach it only as its positional parameters ("$1", …).
    @discardableResult
    func privileged(
        script: StaticString, _ arguments: [String] = [], step: ProvisioningStep, timeout: Duration = .seconds(120), stdin: Data? = nil
    ) async throws -> CommandResult {
        try Self.check(
            try await runPrivileged(script: script, arguments, step: step, timeout: timeout, stdin: stdin), on: label, step: step)
    }

    func runPrivileged(
        script: StaticString, _ arguments: [String] = [], step: ProvisioningStep, timeout: Duration, stdin: Data? = nil
    ) async throws -> CommandResult {
        try await runPrivileged(["sh", "-c", script.description, "edgeup"] + arguments, step: step, timeout: timeout, stdin: stdin)
    }

    /// `stdin` feeds the command data that must not be in a command line (a manifest with a secret);
    /// `shown` replaces the command in the host log when its input holds one.
    func runPrivileged(
        _ argv: [String], step: ProvisioningStep, timeout: Duration, stdin: Data? = nil, shown: String? = nil
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

    private static func check(_ result: CommandResult, on label: String, step: ProvisioningStep) throws -> CommandResult {
        guard result.succeeded else {
            throw ProvisioningError(
                host: label, step: step,
                "command failed (\(result.exitStatus.map { "exit \($0)" } ?? "signal \(result.exitSignal ?? "?")")): \(tail(result.stderrText, lines: 3))")
        }
        return result
    }

    func upload(file: String, to path: String, mode: UInt16, step: ProvisioningStep) async throws {
        do {
            let outcome = try await remote.upload(file: file, to: path, mode: mode, sudo: sudo)
            await log("upload \(file) → \(path): \(outcome)\n")
        } catch {
            throw ProvisioningError(error, on: label, step: step)
        }
    }

    func upload(data text: String, to path: String, mode: UInt16, step: ProvisioningStep) async throws {
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
