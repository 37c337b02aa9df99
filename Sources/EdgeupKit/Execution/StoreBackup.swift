import EdgeCore
import EdgeSSH
import Foundation

/// One file of a backup, as its manifest lists it.
public struct BackupFile: Sendable, Hashable, Codable {
    public var name: String
    public var bytes: Int
    public var sha256: String
}

/// `manifest.json` of one store's backup: what a restore needs to know.
public struct BackupManifest: Sendable, Hashable, Codable {
    public var store: String
    public var datastore: Datastore
    /// `k3s --version` on the first server when the backup was taken (a restore needs that release).
    public var version: String?
    public var server: String
    public var run: String
    public var takenAt: Date
    /// The snapshot (etcd) or the datastore's files (SQLite), then `token`.
    public var files: [BackupFile]
}

/// Takes one store's backup on its first server and copies it to `folder` (0700, files 0600):
/// embedded etcd through the distribution's snapshot; SQLite as a copy of the datastore made
/// while k3s is stopped for a moment (pods keep running), then k3s is started again. The server
/// token goes with it: a restore needs the original token. Every file is checked by SHA-256 on
/// both ends.
struct StoreBackup: Sendable {
    /// Files are read through the command channel, into memory: up to this size each.
    static let maxFileBytes = 1 << 30

    var session: FleetSession
    var run: String
    var folder: String
    var journal: RunJournal?
    var events: @Sendable (RunEvent) -> Void

    func backup(_ store: Store) async -> StoreOutcome {
        await StoreOperationRun.outcome(of: store, verb: "backup", run: run, events: events) { _ = try await take(store) }
    }

    private func take(_ store: Store) async throws -> BackupManifest {
        guard let server = store.firstServer else {
            throw ProvisioningError(host: store.name, step: .connect, "the store has no server")
        }
        let files = Distributions.distribution(for: store).files
        let shell = try await RootShell.open(server, in: store, session: session, step: .backup, journal: journal)
        let label = shell.label
        events(RunEvent(.stepStarted, run: run, store: store.name, host: server.name, message: "backup"))
        let version = try await shell.run([files.binary, "--version"]).stdoutText.split(separator: "\n").first.map(String.init)
        let name = "edgeup-backup-" + String(run.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })
        // The remote paths to copy, in the manifest's order.
        var remotePaths: [String] = []
        switch store.datastore {
        case .etcd:
            _ = try await shell.run(Distributions.distribution(for: store).etcdSnapshot(name: name), timeout: .seconds(600))
            let listed = try await shell.run(["sh", "-c", #"for f in "$1/$2"*; do [ -f "$f" ] && echo "$f"; done"#, "edgeup", files.snapshots, name])
            guard let path = listed.stdoutText.split(separator: "\n").last.map(String.init) else {
                throw ProvisioningError(host: label, step: .backup, "no snapshot named \(name) in \(files.snapshots) after taking it")
            }
            remotePaths.append(path)
        case .sqlite:
            let copy = "\(files.snapshots)/\(name)"
            _ = try await shell.run(["sh", "-c", Self.sqliteCopy, "edgeup", Distributions.distribution(for: store).serviceName(for: .server), copy, files.binary]
                + files.sqliteDatastore, timeout: .seconds(600))
            let listed = try await shell.run(["sh", "-c", #"for f in "$1"/*; do [ -f "$f" ] && echo "$f"; done"#, "edgeup", copy])
            remotePaths += listed.stdoutText.split(separator: "\n").map(String.init)
        }
        remotePaths.append(files.serverToken)
        let target = "\(folder)/\(store.name)/\(run)"
        do {
            try PrivateFile.createFolders(target, tighten: true)
        } catch {
            throw ProvisioningError(host: label, step: .backup, "\(error)")
        }
        var manifestFiles: [BackupFile] = []
        for path in remotePaths {
            let localName = path == files.serverToken ? "token" : (path as NSString).lastPathComponent
            let data: Data
            do {
                data = try await shell.remote.download(path, sudo: shell.sudo, maxBytes: Self.maxFileBytes)
            } catch {
                throw ProvisioningError(error, on: label, step: .backup)
            }
            let remoteSum = try await shell.sha256(path)
            let sum = SHA256Digest.hex(data)
            guard sum == remoteSum else {
                throw ProvisioningError(host: label, step: .backup, "\(path) changed while it was copied (SHA-256 \(sum.prefix(12)) here, \(remoteSum.prefix(12)) there)")
            }
            do {
                try PrivateFile.write(data, to: "\(target)/\(localName)")
            } catch {
                throw ProvisioningError(host: label, step: .backup, "\(error)")
            }
            manifestFiles.append(BackupFile(name: localName, bytes: data.count, sha256: sum))
        }
        if store.datastore == .sqlite, let copy = remotePaths.first.map({ ($0 as NSString).deletingLastPathComponent }) {
            // The copy was only a consistent source for this transfer: the backup lives here now.
            _ = try await shell.run(["rm", "-rf", "--", copy])
        }
        let manifest = BackupManifest(
            store: store.name, datastore: store.datastore, version: version?.shownAsUntrusted, server: server.name, run: run,
            takenAt: Date(), files: manifestFiles)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        do {
            try PrivateFile.write(try encoder.encode(manifest), to: "\(target)/manifest.json")
        } catch {
            throw ProvisioningError(host: label, step: .backup, "cannot write the manifest: \(error)")
        }
        events(RunEvent(.stepFinished, run: run, store: store.name, host: server.name, outcome: .changed, message: target))
        return manifest
    }

    /// $1 the service, $2 the copy's folder, $3 the binary (its kubectl), then the datastore's files. The service is started
    /// again, and waited for until its API answers, whatever happens to the copy — also when edgeup dies meanwhile (the command's
    /// group gets TERM, then KILL: the start runs in its own session).
    static let sqliteCopy = #"""
        service=$1 copy=$2 binary=$3; shift 3
        if [ -d /run/systemd/system ]; then stop="systemctl stop $service"; start="systemctl start $service"
        else stop="rc-service $service stop"; start="rc-service $service start"; fi
        trap 'setsid sh -c "$start" >/dev/null 2>&1 < /dev/null & exit 143' HUP INT TERM
        $stop || exit 1
        mkdir -p -m 700 "$copy" && for file in "$@"; do if [ -e "$file" ]; then cp -p -- "$file" "$copy/" || failed=1; fi; done
        sync
        $start || { echo "$service did not start again" >&2; exit 1; }
        i=0; until "$binary" kubectl get --raw /readyz >/dev/null 2>&1; do
            i=$((i + 1)); [ "$i" -lt 120 ] || { echo "the API did not answer /readyz within 2 minutes of the restart" >&2; exit 1; }; sleep 1
        done
        [ -z "$failed" ] && [ -e "$copy/${1##*/}" ] || { echo "no copy of $1" >&2; exit 1; }
        """#
}
