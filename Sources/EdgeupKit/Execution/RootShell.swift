import EdgeCore
import EdgeSSH
import Foundation

/// Root commands on one host for the store-wide operations that need no plan (backup, restore,
/// reset): argv quoted word by word, logged to the host's journal log, a failure thrown as the
/// host's `step` with the last lines of its stderr.
struct RootShell: Sendable {
    let store: Store
    let host: Host
    let remote: any RemoteHost
    let sudo: SudoMode
    let step: ProvisioningStep
    let journal: RunJournal?

    var label: String { StoreHost(store: store, host: host).label }

    static func open(_ host: Host, in store: Store, session: FleetSession, step: ProvisioningStep, journal: RunJournal?)
        async throws -> RootShell
    {
        do {
            let remote = try await session.connection(to: host, in: store)
            let sudo = try session.access.sudo(for: host, in: store)
            return RootShell(store: store, host: host, remote: remote, sudo: sudo, step: step, journal: journal)
        } catch {
            throw ProvisioningError(error, on: StoreHost(store: store, host: host).label, step: .connect)
        }
    }

    /// Runs `argv` as root; throws when it fails.
    @discardableResult
    func run(_ argv: [String], timeout: Duration = .seconds(120)) async throws -> CommandResult {
        let result = try await attempt(argv, timeout: timeout)
        guard result.succeeded else {
            throw ProvisioningError(host: label, step: step, HostOperator.tail(result.stderrText, lines: 3))
        }
        return result
    }

    /// Runs `argv` as root and returns its result, failed or not.
    func attempt(_ argv: [String], timeout: Duration = .seconds(120)) async throws -> CommandResult {
        let result: CommandResult
        do {
            result = try await remote.run(RemoteCommand(ShellQuote.command(argv), sudo: sudo, timeout: timeout))
        } catch {
            throw ProvisioningError(error, on: label, step: step)
        }
        // Scripts are logged by their first words only: their text is edgeup's, their arguments paths.
        journal?.log(store: store.name, host: host.name, "$ \(argv.prefix(argv.first == "sh" ? 1 : 8).joined(separator: " "))\n\(result.stdoutText)\(result.stderrText)")
        return result
    }

    /// The file's SHA-256 on the host.
    func sha256(_ path: String) async throws -> String {
        String(try await run(["sha256sum", "--", path]).stdoutText.prefix(64))
    }
}
