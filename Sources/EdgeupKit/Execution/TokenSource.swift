import EdgeCore
import EdgeSSH
import Foundation

/// The cluster's tokens, read once from the first server when a joiner needs them. Held only in
/// memory, never logged.
///
/// Servers join with the server token (k3s's docs: full cluster admin). Agents join with the agent
/// token — its secret kept in `DistributionFiles.agentToken` on every server and named by
/// `agent-token-file` — in the secure form `K10<CA hash>::node:<secret>`, so a compromised agent
/// can neither join a server nor read the datastore.
actor TokenSource {
    private let first: HostOperator
    private var server: Secret?
    private var agent: Secret?

    init(first: HostOperator) {
        self.first = first
    }

    func serverToken() async throws -> Secret {
        if let server { return server }
        let files = first.files
        guard let value = try await read(files.serverToken), first.distribution.isSecureServerToken(value) else {
            throw ProvisioningError(
                host: first.label, step: .readToken,
                "\(files.serverToken) does not hold a secure K10 token; refusing to join without CA verification")
        }
        server = Secret(value)
        return Secret(value)
    }

    /// The agent token's secret. On the first server's own `write-agent-token` (`generateOn` names
    /// it) a missing secret is generated; everywhere else it is copied from the first server.
    func agentSecret(generateOn host: String?) async throws -> Secret {
        if let agent { return agent }
        let files = first.files
        if let value = try await read(files.agentToken) {
            guard !value.isEmpty, value.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0 != ":" }) else {
                throw ProvisioningError(
                    host: first.label, step: .readToken, "\(files.agentToken) does not hold a usable agent token")
            }
            agent = Secret(value)
        } else if host == first.target.host.name {
            var random = SystemRandomNumberGenerator()
            agent = Secret((0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &random)) }.joined())
        } else {
            throw ProvisioningError(
                host: first.label, step: .readToken, "the first server has no agent token (\(files.agentToken)) yet",
                lastSeen: "apply the store so its first server gets one first")
        }
        return agent!
    }

    /// What an agent's `token-file` holds: the agent secret with the cluster's CA hash.
    func agentJoinToken() async throws -> Secret {
        let server = try await serverToken().value
        let secret = try await agentSecret(generateOn: nil).value
        return Secret(first.distribution.agentJoinToken(serverToken: server, agentSecret: secret))
    }

    /// A root-only file of the first server, or nil when it does not exist. Not through the host
    /// log: it holds a secret.
    private func read(_ path: String) async throws -> String? {
        let command = RemoteCommand(
            ShellQuote.command(["sh", "-c", #"if [ -f "$1" ]; then head -c 4096 -- "$1"; else exit 3; fi"#, "edgeup", path]),
            sudo: first.sudo, timeout: .seconds(30))
        let result: CommandResult
        do {
            result = try await first.remote.run(command)
        } catch {
            throw ProvisioningError(error, on: first.label, step: .readToken)
        }
        if result.exitStatus == 3 { return nil }
        guard result.succeeded else {
            throw ProvisioningError(
                host: first.label, step: .readToken, "cannot read \(path): \(HostOperator.tail(result.stderrText, lines: 2))")
        }
        return result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// What a host's step may use of its store's cluster: the first server (its kubectl acts on the
/// cluster) and the tokens read from it.
struct ClusterAccess: Sendable {
    let first: HostOperator
    let tokens: TokenSource
}
