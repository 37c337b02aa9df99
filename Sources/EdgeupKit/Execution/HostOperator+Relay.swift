import EdgeCore
import EdgeSSH
import Foundation

extension HostOperator {
    /// Puts an artifact on this host: copied across the store's LAN from a host that already has
    /// it when there is one (`LANRelay`), else — or for whatever that copy did not bring — sent
    /// from the operator's machine. Either way it is placed only once its SHA-256 matches; then
    /// this host becomes a seed for the store's other hosts.
    func upload(artifact: LocalArtifact, to path: String, mode: UInt16, step: ProvisioningStep) async throws {
        if let relay, artifact.size >= LANRelay.minimumSize,
           let seed = await relay.seed(for: artifact.sha256, excluding: target.host.name) {
            do {
                try await copyAcrossLAN(artifact, from: seed, step: step)
            } catch {
                await log("LAN copy of \(artifact.path) from \(seed.host.name) failed (\(error)); sending it from this machine\n")
            }
        }
        try await upload(file: artifact.path, to: path, mode: mode, step: step)
        guard let relay, artifact.size >= LANRelay.minimumSize, await !relay.hasSeed(for: artifact.sha256) else { return }
        if let seedPath = await keepSeedCopy(of: path, sha256: artifact.sha256, step: step) {
            await relay.register(artifact.sha256, LANRelay.Seed(host: target.host, remote: remote, path: seedPath))
        }
    }

    /// A copy (a hard link where the filesystem allows) of the placed file in the login user's
    /// staging folder, readable by that user whatever the target folder's permissions; nil when
    /// it could not be made (the store's other hosts then receive the artifact from this machine).
    private func keepSeedCopy(of path: String, sha256: String, step: ProvisioningStep) async -> String? {
        guard let staging = try? await remote.run(UploadStaging.command(sha256: sha256, size: 0)),
              let (partial, _) = UploadStaging.parse(staging.stdoutText) else { return nil }
        let seedPath = String(partial.dropLast(".partial".count)) + ".seed"
        guard LANRelay.isPlainPath(seedPath) else { return nil }
        let made = try? await runPrivileged(
            ["sh", "-c", #"rm -f -- "$2"; ln -- "$1" "$2" 2>/dev/null || cp -- "$1" "$2"; chmod a+r -- "$2""#, "edgeup", path, seedPath],
            step: step, timeout: .seconds(600))
        return made?.succeeded == true ? seedPath : nil
    }

    /// Pulls the artifact from `seed` into this host's staging partial with the system ssh and a
    /// key the seed accepts once (see `LANRelay`).
    private func copyAcrossLAN(_ artifact: LocalArtifact, from seed: LANRelay.Seed, step: ProvisioningStep) async throws {
        let staging = try await remote.run(UploadStaging.command(sha256: artifact.sha256, size: artifact.size))
        guard let (partial, present) = UploadStaging.parse(staging.stdoutText) else {
            throw ProvisioningError(host: label, step: step, "no staging folder: \(staging.stderrText)")
        }
        guard present < artifact.size else { return }
        guard LANRelay.isPlainPath(seed.path) else { throw ProvisioningError(host: label, step: step, "the seed's path is not plain") }
        let key = String(partial.dropLast(".partial".count)) + ".relay-key"
        let made = try await remote.run(RemoteCommand(ShellQuote.command(["sh", "-c", LANRelay.keyScript, "edgeup", key])))
        guard made.succeeded, let publicKey = LANRelay.publicKey(made.stdoutText) else {
            throw ProvisioningError(host: label, step: step, "no key pair: \(made.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let marker = "edgeup-relay-" + String(UInt64.random(in: .min ... .max), radix: 36)
        let authorize = ShellQuote.command([
            "sh", "-c", LANRelay.authorizeScript, "edgeup", target.host.address, LANRelay.expiry(), String(present + 1), seed.path,
            publicKey, marker,
        ])
        let pulled: Result<Void, ProvisioningError>
        do {
            let authorized = try await seed.remote.run(RemoteCommand(authorize))
            guard authorized.succeeded else {
                throw ProvisioningError(host: label, step: step, "\(seed.host.name) did not take the key: \(authorized.stderrText)")
            }
            // At least 1 MB/s on the LAN, on top of a minute to connect.
            let limit = Duration.seconds(60 + (artifact.size - present) / 1_000_000)
            let source = "\(seed.host.ssh.user)@\(seed.host.address)"
            let fetched = try await remote.run(RemoteCommand(
                ShellQuote.command(["sh", "-c", LANRelay.fetchScript, "edgeup", key, String(seed.host.ssh.port), source, partial]), timeout: limit))
            guard fetched.succeeded else {
                throw ProvisioningError(host: label, step: step, "ssh to \(seed.host.name): \(fetched.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            pulled = .success(())
        } catch let error as ProvisioningError {
            pulled = .failure(error)
        } catch {
            pulled = .failure(ProvisioningError(error as? SSHError ?? SSHError(.transfer, hop: label, step: .upload, "\(error)"), on: label, step: step))
        }
        // The key goes whatever happened (its expiry is the fallback should edgeup not get here).
        _ = try? await seed.remote.run(RemoteCommand(ShellQuote.command(["sh", "-c", LANRelay.revokeScript, "edgeup", marker]), timeout: .seconds(30)))
        _ = try? await remote.run(RemoteCommand(ShellQuote.command(["rm", "-f", "--", key, key + ".pub"]), timeout: .seconds(30)))
        try pulled.get()
        await log("copied \(artifact.path) (\(artifact.size - present) bytes) across the LAN from \(seed.host.name)\n")
    }
}
