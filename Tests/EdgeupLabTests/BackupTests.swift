import EdgeupTestSupport
import Foundation
import Testing

/// `edgeup backup` (issue #15): an etcd store's snapshot and a SQLite store's datastore, each with
/// its token and manifest, private on disk and checked by SHA-256; the stores keep running.
extension LabTests {
@Suite struct BackupTests {
    static let spec = """
        stores:
          - {name: trio, servers: 3, agents: 0}
          - {name: lite, servers: 1, agents: 1, datastore: sqlite}
        """

    @Test func etcdAndSQLiteStoresAreBackedUp() async throws {
        try await Lab.with(spec: Self.spec, subnet: "10.92.0.0/16") { lab in
            _ = try lab.buildDouble()
            let inventory = try lab.inventory(k3s: "binary: ./k3s")
            let env = ["KUBECONFIG": lab.directory + "/kubeconfig", "EDGEUP_STATE_DIR": lab.directory + "/state", "NO_COLOR": "1"]
            let formed = try edgeup(["apply", inventory], environment: env)
            try #require(formed.status == 0, "\(formed.stderr)")

            for server in ["trio-s1", "lite-s1"] {
                let made = try lab.exec(server, "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: before-backup, namespace: default}\\ndata: {a: b}\\n' > /root/cm.yaml && k3s kubectl apply -f /root/cm.yaml")
                try #require(made.status == 0, "\(server): \(made.stderr)")
            }
            let folder = lab.directory + "/backups"
            let backup = try edgeup(["backup", inventory, "--to", folder], environment: env)
            #expect(backup.status == 0, "\(backup.stderr)")
            #expect(backup.stderr.contains("backed up      2"), "\(backup.stderr)")
            let lines = backup.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
            let paths = Dictionary(uniqueKeysWithValues: lines.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil })
            #expect(Set(paths.keys) == ["trio", "lite"], "\(backup.stdout)")
            #expect(try Self.mode(folder + "/trio") == 0o700)

            for (store, path) in paths {
                let data = try Data(contentsOf: URL(fileURLWithPath: path + "/manifest.json"))
                let manifest = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
                #expect(manifest["store"] as? String == store)
                #expect((manifest["version"] as? String)?.contains("v1.31.4+k3s1") == true, "\(manifest)")
                let files = manifest["files"] as? [[String: Any]] ?? []
                #expect(files.contains { $0["name"] as? String == "token" }, "\(files)")
                for file in files {
                    let local = path + "/" + (file["name"] as? String ?? "?")
                    #expect(try Self.mode(local) == 0o600, "\(local) is private")
                    let sum = try runProcess("/usr/bin/sha256sum", [local]).stdout.prefix(64)
                    #expect(String(sum) == file["sha256"] as? String, "\(local) matches its manifest")
                }
                let token = try String(contentsOfFile: path + "/token", encoding: .utf8)
                #expect(token == (try lab.exec("\(store)-s1", "cat /var/lib/rancher/k3s/server/token").stdout), "the token a restore needs")
            }
            let snapshot = try #require(try FileManager.default.contentsOfDirectory(atPath: paths["trio"]!).first { $0.hasPrefix("edgeup-backup-") })
            let dump = try String(contentsOfFile: paths["trio"]! + "/" + snapshot, encoding: .utf8)
            #expect(dump.contains("K3sDoubleSnapshot"), "an etcd snapshot of the datastore")
            #expect(FileManager.default.fileExists(atPath: paths["lite"]! + "/state.db"), "the SQLite datastore")
            let leftover = try lab.exec("lite-s1", "ls /var/lib/rancher/k3s/server/db/snapshots 2>/dev/null || true").stdout
            #expect(!leftover.contains("edgeup-backup-"), "the SQLite server keeps no copy: \(leftover)")
            for server in ["lite-s1", "trio-s1"] {
                // The SQLite server was stopped for the copy: its agent reports again within its heartbeat.
                var nodes = ""
                for _ in 0..<30 {
                    nodes = try lab.exec(server, "k3s kubectl get nodes --no-headers | awk '{ print $2 }'").stdout
                    if Set(nodes.split(separator: "\n")) == ["Ready"] { break }
                    sleep(1)
                }
                #expect(Set(nodes.split(separator: "\n")) == ["Ready"], "\(server): running after the backup: \(nodes)")
            }

            // Restore: what was deleted after the backup is back (SQLite, then etcd through cluster-reset).
            for store in ["lite", "trio"] {
                let deleted = try lab.exec("\(store)-s1", "k3s kubectl delete -f /root/cm.yaml")
                try #require(deleted.status == 0, "\(deleted.stderr)")
                let refused = try edgeup(["restore", inventory, "--stores", store, "--from", folder], environment: env)
                #expect(refused.status == 2 && refused.stderr.contains("pass --yes"), "\(refused.stderr)")
                let restored = try edgeup(["restore", inventory, "--stores", store, "--from", folder, "--yes"], environment: env)
                #expect(restored.status == 0, "\(store): \(restored.stderr)")
                let back = try lab.exec("\(store)-s1", "k3s kubectl get configmap before-backup -n default -o name")
                #expect(back.stdout.contains("configmap/before-backup"), "\(store): the object deleted after the backup is back: \(back.stdout)\(back.stderr)")
                for server in lab.hosts.values.filter({ $0.store == store && $0.role == "server" }).map(\.name).sorted() {
                    let ready = try lab.exec(server, "k3s kubectl get --raw /readyz").stdout
                    #expect(ready == "ok", "\(server) serves again after the restore: \(ready)")
                }
            }
            // Each wiped server joined the restored cluster again: three voting members.
            let members = try lab.exec("trio-s1", "k3s kubectl get --raw /db/info").stdout
            let listed = (try? JSONSerialization.jsonObject(with: Data(members.utf8)) as? [String: Any])?["members"] as? [[String: Any]] ?? []
            #expect(listed.count == 3 && listed.allSatisfy { $0["isLearner"] == nil }, "etcd members after the restore: \(members)")
            let wrong = try edgeup(["restore", inventory, "--stores", "lite", "--from", paths["trio"]!, "--yes"], environment: env)
            #expect(wrong.status == 1 && wrong.stderr.contains("is a backup of store trio, not lite"), "\(wrong.stderr)")
        }
    }

    static func mode(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1) & 0o777
    }
}
}
