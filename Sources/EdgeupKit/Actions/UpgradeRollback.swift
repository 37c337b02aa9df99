import Foundation

/// The documented way back from a failed upgrade (k3s docs, "Upgrades: roll back"): the
/// snapshot taken before the first restart, restored with the binary it was taken with. Shown
/// with the failure, so the operator does not have to look it up at 3 a.m.
enum UpgradeRollback {
    static func steps(store: Store, upgrade: StoreUpgrade, snapshot: String?, files: DistributionFiles, service: String)
        -> String
    {
        let retry = "or fix the cause and run edgeup apply again: it continues from the node that failed."
        guard let snapshot else {
            return "no edgeup snapshot exists for this upgrade, so there is no rollback point; \(retry)"
        }
        let path = "\(files.snapshots)/\(snapshot)"
        let oldBinary = "put the old binary back (mv \(files.previousBinary) \(files.binary)) where edgeup replaced it"
        let servers = store.servers.map(\.name)
        guard let first = servers.first else { return retry }
        switch upgrade.datastore {
        case .sqlite:
            let datastore = files.sqliteDatastore.first.map { ($0 as NSString).deletingLastPathComponent } ?? ""
            return "on \(first): stop \(service), \(oldBinary), copy the files of \(path)/ back into \(datastore)/, "
                + "start \(service); then restart the agents on the old binary; \(retry)"
        case .etcd:
            let others = servers.dropFirst()
            var text = "stop \(service) on every server and \(oldBinary); on \(first) run "
                + "`\(files.binary) server --cluster-reset --cluster-reset-restore-path=\(path)` and start \(service)"
            if !others.isEmpty {
                text += "; on \(others.joined(separator: ", ")) remove \(datastoreFolder(files)) and start \(service), one at a time"
            }
            return text + "; then put the old binary back on the agents and restart them (k3s needs the original token); \(retry)"
        }
    }

    private static func datastoreFolder(_ files: DistributionFiles) -> String {
        (files.snapshots as NSString).deletingLastPathComponent
    }
}
