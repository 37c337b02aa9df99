import EdgeCore
import EdgeSSH
import Foundation

/// Puts a store's backup (`StoreBackup`) back with k3s's documented procedure. Embedded etcd:
/// stop k3s on every server, `k3s server --cluster-reset --cluster-reset-restore-path=…` on the
/// first with the snapshot, start it; on the others remove `server/db` and start them one at a
/// time, each waited for. SQLite: stop, the datastore's files back in place (stale `-wal`/`-shm`
/// removed), start. Refused before anything stops when the backup's files do not match their
/// manifest, the first server runs another k3s release, or the store's token is not the backup's.
struct StoreRestore: Sendable {
    var session: FleetSession
    var run: String
    var journal: RunJournal?
    var events: @Sendable (RunEvent) -> Void

    func restore(_ store: Store, from folder: String) async -> StoreOutcome {
        await StoreOperationRun.outcome(of: store, verb: "restore", run: run, events: events) { try await put(store, from: folder) }
    }

    /// The manifest in `folder`, each file checked against it.
    static func verified(_ folder: String, store: Store) throws -> BackupManifest {
        let fail = { (why: String) in ProvisioningError(host: store.name, step: .restore, why) }
        guard let data = FileManager.default.contents(atPath: folder + "/manifest.json") else {
            throw fail("no manifest.json in \(folder)")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let manifest = try? decoder.decode(BackupManifest.self, from: data) else { throw fail("\(folder)/manifest.json is not a backup manifest") }
        guard manifest.store == store.name else { throw fail("\(folder) is a backup of store \(manifest.store), not \(store.name)") }
        guard manifest.datastore == store.datastore else {
            throw fail("\(folder) holds a \(manifest.datastore.rawValue) datastore; the store runs \(store.datastore.rawValue)")
        }
        for file in manifest.files {
            let path = folder + "/" + file.name
            guard file.name == (file.name as NSString).lastPathComponent, !file.name.hasPrefix("."),
                let sum = try? SHA256Digest.hexOfFile(path), sum == file.sha256
            else { throw fail("\(path) does not match its manifest (missing, changed or not a plain name)") }
        }
        return manifest
    }

    private func put(_ store: Store, from folder: String) async throws {
        let manifest = try Self.verified(folder, store: store)
        let distribution = Distributions.distribution(for: store)
        let files = distribution.files
        guard let first = store.firstServer else { throw ProvisioningError(host: store.name, step: .restore, "the store has no server") }
        var shells: [String: RootShell] = [:]
        for server in store.servers {
            shells[server.name] = try await RootShell.open(server, in: store, session: session, step: .restore, journal: journal)
        }
        let firstShell = shells[first.name]!
        let release = try await firstShell.run([files.binary, "--version"]).stdoutText.split(separator: "\n").first.map(String.init)
        guard release?.shownAsUntrusted == manifest.version else {
            throw ProvisioningError(
                host: firstShell.label, step: .restore,
                "the server runs \(release?.shownAsUntrusted ?? "no k3s"), the backup was taken on \(manifest.version ?? "an unknown release"): "
                    + "restore with that release (k3s's docs require it)")
        }
        guard let tokenFile = manifest.files.first(where: { $0.name == "token" }),
            try await firstShell.sha256(files.serverToken) == tokenFile.sha256
        else {
            throw ProvisioningError(
                host: firstShell.label, step: .restore,
                "the store's server token is not the backup's: the backup is of another cluster, or the token was rotated since")
        }
        let service = distribution.serviceName(for: .server)
        let step = { (host: Host, what: String) in
            events(RunEvent(.stepStarted, run: run, store: store.name, host: host.name, message: what))
        }
        for server in store.servers.reversed() {
            step(server, "stop \(service)")
            try await shells[server.name]!.run(["sh", "-c", Self.service, "edgeup", "stop", service], timeout: .seconds(300))
        }
        let payload = manifest.files.filter { $0.name != "token" }
        switch store.datastore {
        case .etcd:
            guard let snapshot = payload.first else { throw ProvisioningError(host: store.name, step: .restore, "the backup has no snapshot") }
            let path = "\(files.snapshots)/\(snapshot.name)"
            step(first, "upload \(snapshot.name)")
            try await upload(folder + "/" + snapshot.name, to: path, sha256: snapshot.sha256, on: firstShell)
            step(first, "cluster-reset from \(snapshot.name)")
            try await firstShell.run(
                [files.binary, "server", "--cluster-reset", "--cluster-reset-restore-path=\(path)"], timeout: .seconds(900))
            try await start(first, firstShell, service: service, binary: files.binary)
            let datastore = (files.snapshots as NSString).deletingLastPathComponent
            for server in store.servers.dropFirst() {
                step(server, "rejoin with a wiped \(datastore)")
                try await shells[server.name]!.run(["rm", "-rf", "--", datastore])
                try await start(server, shells[server.name]!, service: service, binary: files.binary)
                try await waitForVoter(server, shell: shells[server.name]!, cluster: firstShell, distribution: distribution)
            }
        case .sqlite:
            let folderOnHost = (files.sqliteDatastore.first! as NSString).deletingLastPathComponent
            step(first, "put the SQLite datastore back")
            // A -wal or -shm the backup lacks belongs to the newer state: it must not be replayed.
            try await firstShell.run(["rm", "-f", "--"] + files.sqliteDatastore)
            for file in payload {
                try await upload(folder + "/" + file.name, to: "\(folderOnHost)/\(file.name)", sha256: file.sha256, on: firstShell)
            }
            try await start(first, firstShell, service: service, binary: files.binary)
        }
    }

    private func upload(_ local: String, to path: String, sha256: String, on shell: RootShell) async throws {
        try await shell.run(["mkdir", "-p", (path as NSString).deletingLastPathComponent])
        do {
            _ = try await shell.remote.upload(file: local, to: path, mode: 0o600, sudo: shell.sudo)
        } catch {
            throw ProvisioningError(error, on: shell.label, step: .restore)
        }
        guard try await shell.sha256(path) == sha256 else {
            throw ProvisioningError(host: shell.label, step: .restore, "\(path) does not match the backup after the upload")
        }
    }

    /// Starts the server and waits until its own API answers /readyz.
    private func start(_ host: Host, _ shell: RootShell, service: String, binary: String) async throws {
        events(RunEvent(.stepStarted, run: run, store: shell.store.name, host: host.name, message: "start \(service)"))
        try await shell.run(["sh", "-c", Self.service, "edgeup", "start", service, binary], timeout: .seconds(600))
        events(RunEvent(.stepFinished, run: run, store: shell.store.name, host: host.name, outcome: .changed, message: "\(service) answers /readyz"))
    }

    /// Waits until the server's node is Ready as a voting etcd member, seen from the first server:
    /// etcd takes one learner at a time, so the next server may start only then.
    private func waitForVoter(_ host: Host, shell: RootShell, cluster: RootShell, distribution: any Distribution) async throws {
        var name = host.nodeName ?? ""
        if name.isEmpty {
            name = try await shell.run(["cat", "/proc/sys/kernel/hostname"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        }
        let deadline = ContinuousClock.now + .seconds(600)
        var seen = "nothing yet"
        while ContinuousClock.now < deadline {
            let result = try await cluster.attempt(distribution.kubectl(["get", "node", name, "-o", "json", "--request-timeout=5s"]))
            if result.succeeded, let object = try? JSONSerialization.jsonObject(with: result.stdout) as? [String: Any],
                let node = NodeFacts(kubernetesObject: object)
            {
                if node.ready && node.roles.contains("etcd") && node.etcdVoter != false { return }
                seen = "\(node.ready ? "Ready" : "NotReady"), EtcdIsVoter=\(node.etcdVoter.map { $0 ? "True" : "False" } ?? "absent")"
            }
            try await Task.sleep(for: .seconds(2))
        }
        throw ProvisioningError(
            host: shell.label, step: .restore, "timed out after 600 s waiting for node \(name.shownAsUntrusted) to be a voting etcd member",
            lastSeen: seen)
    }

    /// $1 stop|start, $2 the service, $3 (start) the binary whose kubectl must reach /readyz.
    static let service = #"""
        verb=$1 service=$2 binary=$3
        if [ -d /run/systemd/system ]; then systemctl "$verb" "$service" || exit 1
        else rc-service "$service" "$verb" || exit 1; fi
        [ "$verb" = start ] || exit 0
        i=0; until "$binary" kubectl get --raw /readyz >/dev/null 2>&1; do
            i=$((i + 1)); [ "$i" -lt 300 ] || { echo "the API did not answer /readyz within 5 minutes" >&2; exit 1; }; sleep 1
        done
        """#
}
