/// What a store's upgrade looks like when the plan is made, shared by the rules of all its hosts:
/// the snapshot is taken once, before the first restart, and only by a run that starts the
/// upgrade; a re-run that finds some hosts on the target continues without a second one.
struct StoreUpgrade: Sendable, Hashable {
    /// The release the store moves to, as plans and rollbacks name it ("v1.32.1+k3s1").
    var target: String
    /// Some host already runs the target while others do not: an earlier run began the upgrade.
    var started: Bool
    var datastore: Datastore
    /// edgeup's pre-upgrade snapshots found on the first server, oldest first.
    var existingSnapshots: [String]
    /// Snapshot names start with this; the run id completes them (`name(run:)`).
    var snapshotStem: String

    init(target: String, started: Bool, datastore: Datastore, existingSnapshots: [String], prefix: String) {
        self.target = target
        self.started = started
        self.datastore = datastore
        self.existingSnapshots = existingSnapshots
        snapshotStem = prefix + Self.slug(target)
    }

    /// The snapshot a run takes: lowercase letters, digits and dashes only, as k3s and Kubernetes
    /// object names need (`edgeup-pre-v1-32-1-k3s1-20261203t101500z-3f9a`).
    func snapshotName(run: String) -> String {
        snapshotStem + "-" + Self.slug(run)
    }

    /// The snapshot a continued upgrade relies on: the newest one taken for this target.
    var earlierSnapshot: String? {
        existingSnapshots.last { $0.hasPrefix(snapshotStem + "-") }
    }

    private static func slug(_ text: String) -> String {
        String(text.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
    }
}
