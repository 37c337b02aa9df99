import EdgeCore
import EdgeSSH
import Foundation

/// Tears one store down: agents first (in parallel), then servers one at a time with the first
/// server last, each through the uninstall script the install left (edgeup's own in air gap, the
/// official installer's otherwise), then edgeup's own files. Checks afterwards that the binary is
/// gone. A host that cannot be reached is named, and the store is not called reset.
struct StoreReset: Sendable {
    var session: FleetSession
    var run: String
    var journal: RunJournal?
    var events: @Sendable (RunEvent) -> Void

    func reset(_ store: Store) async -> StoreOutcome {
        events(RunEvent(.storeStarted, run: run, store: store.name))
        var failures: [String] = []
        let agents = await withTaskGroup(of: String?.self) { group in
            for agent in store.agents { group.addTask { await reset(agent, in: store) } }
            return await group.reduce(into: [String]()) { if let failure = $1 { $0.append(failure) } }
        }
        failures += agents
        for server in store.servers.reversed() {
            if let failure = await reset(server, in: store) { failures.append(failure) }
        }
        let outcome = StoreOutcome(
            store: store.name, result: failures.isEmpty ? .converged : .failed,
            message: failures.isEmpty ? nil : failures.sorted().joined(separator: "\n"))
        events(RunEvent(.storeFinished, run: run, store: store.name, outcome: failures.isEmpty ? .ok : .failed, message: outcome.message))
        try? journal?.storeFinished(StoreState(
            store: store.name, run: run, finishedAt: Date(), outcome: failures.isEmpty ? .reset : .failed,
            message: outcome.message, actionsDone: failures.isEmpty ? store.hosts.map { "reset \($0.name)" } : []))
        return outcome
    }

    /// Nil when the host is clean, else why not (`store/host: reset: …`).
    private func reset(_ host: Host, in store: Store) async -> String? {
        let files = Distributions.distribution(for: store).files
        events(RunEvent(.stepStarted, run: run, store: store.name, host: host.name, message: "reset"))
        do {
            let shell = try await RootShell.open(host, in: store, session: session, step: .reset, journal: journal)
            try await Self.uninstall(on: shell, files: files)
        } catch {
            let why = (error as? ProvisioningError)?.summary ?? "\(StoreHost(store: store, host: host).label): reset: \(error)"
            events(RunEvent(.stepFinished, run: run, store: store.name, host: host.name, outcome: .failed, message: why))
            return why
        }
        events(RunEvent(.stepFinished, run: run, store: store.name, host: host.name, outcome: .changed, message: "reset"))
        return nil
    }

    /// Uninstalls k3s and removes edgeup's files on the shell's host; throws unless the binary is gone.
    static func uninstall(on shell: RootShell, files: DistributionFiles) async throws {
        try await shell.run([
            "sh", "-c", script, "edgeup", files.uninstallScript(for: shell.host.role), files.killallScript, files.binary,
            files.stagedBinary, files.previousBinary, files.configDirectory + "/edgeup-", EdgeupHostFolder.path,
        ], timeout: .seconds(300))
    }

    /// $1 the role's uninstall script, $2 killall, $3 the binary, then edgeup's files: staged and
    /// previous binaries, the prefix of its files in the config folder, its own folder.
    private static let script = #"""
        uninstall=$1 killall=$2 binary=$3
        if [ -x "$uninstall" ]; then "$uninstall" >/dev/null 2>&1 || echo "$uninstall failed" >&2
        elif [ -x "$killall" ]; then "$killall" >/dev/null 2>&1
        fi
        rm -f -- "$4" "$5" "$6"* 2>/dev/null
        rm -rf -- "$7"
        if [ -e "$binary" ]; then echo "$binary is still there after $uninstall" >&2; exit 1; fi
        exit 0
        """#
}
