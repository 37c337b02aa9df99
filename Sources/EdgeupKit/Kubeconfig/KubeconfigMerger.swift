/// Which of edgeup's own entries `--prune` may remove: those a fleet wrote whose context is no longer
/// in its inventory.
public struct KubeconfigPrune: Sendable, Hashable {
    /// Only entries marked with this fleet are candidates (`KubeconfigOwner.fleet`).
    public var fleet: String
    /// The context names the inventory still has: never removed.
    public var keep: Set<String>

    public init(fleet: String, keep: Set<String>) {
        self.fleet = fleet
        self.keep = keep
    }
}

/// What a merge changes, by context name, for the report and the CLI's output.
public struct KubeconfigMergeResult: Sendable, Hashable {
    /// The new file contents.
    public var text: String
    /// Contexts that were not in the file.
    public var added: [String] = []
    /// Contexts whose cluster, user or context entry changed (new certificates, a new address).
    public var replaced: [String] = []
    /// Contexts already exactly as fetched.
    public var unchanged: [String] = []
    /// Contexts removed by `--prune`.
    public var removed: [String] = []
    /// Stores not merged because an entry of their name is not this fleet's (that entry is untouched).
    public var skipped: [KubeconfigSkip] = []
    /// `current-context` after the merge.
    public var currentContext: String?
    /// Whether `text` differs from the file's contents: when false, the file need not be written.
    public var changed: Bool
}

/// A store whose entries were not merged: the kubeconfig already has a cluster, user or context of
/// that name that edgeup did not write for this store — the operator's own, or another fleet's for
/// another store (a `context:` or `contextTemplate` collision). Replacing it
/// would silently repoint the operator's `kubectl --context NAME` at a store.
public struct KubeconfigSkip: Sendable, Hashable {
    public var store: String
    public var context: String
    /// The first section (clusters, users, contexts) holding an entry in the way.
    public var section: Kubeconfig.Section
    /// That entry's mark when another fleet wrote it; nil when edgeup did not write it.
    public var owner: KubeconfigOwner?
    /// The kubeconfig concerned.
    public var path: String

    /// What the operator reads: which store, which entry, why, and the two ways out.
    public var error: KubeconfigError {
        let kind = String(section.rawValue.dropLast())
        let writer = owner.map { "that edgeup wrote for store '\($0.store)' of another fleet ('\($0.fleet)')" } ?? "that edgeup did not write"
        let otherName = "or give store '\(store)' another 'context:' in the inventory"
        return KubeconfigError(
            .notOwned, path: path,
            "store '\(store)': the kubeconfig already has a \(kind) named '\(context)' \(writer); "
                + "left it unchanged and did not merge the store",
            hint: owner.map { "if this inventory is fleet '\($0.fleet)', pass --fleet '\($0.fleet)'; \(otherName)" }
                ?? "rename your \(kind) (kubectl config rename-context for a context), \(otherName)")
    }
}

/// Folds store kubeconfigs into an existing kubeconfig. Pure: text in, text out, so every rule is
/// testable without a file; `KubeconfigFile` adds the lock and the atomic write.
///
/// Rules: an entry of the same name is replaced whole (its old fields — stale certificates, a client
/// certificate path — do not survive); a new one is appended; everything else in the document is kept
/// as parsed; `current-context` changes only when `setCurrent` names a context; entries are removed
/// only through `prune`, and only those edgeup marked for that fleet. Only this fleet's entries are
/// ever replaced: a store whose name is taken by any other entry is skipped (`KubeconfigSkip`).
public enum KubeconfigMerger {
    public static func merge(
        _ stores: [StoreKubeconfig], into existing: String?, path: String,
        setCurrent: String? = nil, prune: KubeconfigPrune? = nil
    ) throws(KubeconfigError) -> KubeconfigMergeResult {
        try checkDistinct(stores, path: path)
        var document = try existing.map { text throws(KubeconfigError) in try Kubeconfig(parsing: text, path: path) }
            ?? Kubeconfig()
        let before = document
        var result = KubeconfigMergeResult(text: "", changed: false)

        for store in stores {
            let incoming = try Kubeconfig(parsing: store.yaml, path: "<\(store.context)>")
            if let skip = skip(store, in: document, path: path) {
                result.skipped.append(skip)
                continue
            }
            let existed = before.names(.contexts).contains(store.context)
            for section in Kubeconfig.Section.allCases {
                guard let body = incoming.body(section, named: store.context) else { continue }
                document.set(section, named: store.context, body: body)
            }
            if !existed {
                result.added.append(store.context)
            } else if Kubeconfig.Section.allCases.allSatisfy({
                before.body($0, named: store.context) == document.body($0, named: store.context)
            }) {
                result.unchanged.append(store.context)
            } else {
                result.replaced.append(store.context)
            }
        }

        if let prune {
            let written = Set(stores.map(\.context))
            for name in document.names(.contexts) where !prune.keep.contains(name) && !written.contains(name) {
                guard document.owner(ofContext: name)?.fleet == prune.fleet else { continue }
                remove(name, fleet: prune.fleet, from: &document)
                result.removed.append(name)
            }
        }

        // A skipped store's name belongs to someone else's entry: never make that one current.
        if let setCurrent, !result.skipped.contains(where: { $0.context == setCurrent }) {
            guard document.names(.contexts).contains(setCurrent) else {
                throw KubeconfigError(.conflict, path: path, "cannot make '\(setCurrent)' current: no such context")
            }
            document.currentContext = setCurrent
        }

        result.currentContext = document.currentContext
        // Only re-render when something changed, so a no-op merge leaves the file byte-for-byte alone.
        result.changed = document.root != before.root
        result.text = result.changed ? document.rendered() : existing ?? document.rendered()
        return result
    }

    /// A standalone kubeconfig with just these stores (`--print`): nothing of the operator's file.
    public static func standalone(_ stores: [StoreKubeconfig], currentContext: String? = nil) throws(KubeconfigError)
        -> String
    {
        try merge(stores, into: nil, path: "<stdout>", setCurrent: currentContext).text
    }

    /// Whether an entry marked `mark` may be replaced for the store `ours`: edgeup wrote it, for this
    /// fleet or for a store of the same name. The fleet defaults to the inventory files' paths, so a
    /// renamed or split inventory (or `plan a.yaml b.yaml` vs `apply b.yaml`) is another fleet; its
    /// entry for the same store is still this store's, while one for another store is not.
    static func isOurs(_ mark: KubeconfigOwner?, _ ours: KubeconfigOwner) -> Bool {
        guard let mark else { return false }
        return mark.fleet == ours.fleet || mark.store == ours.store
    }

    /// The skip for `store` when an entry of its name in `document` is not edgeup's for this store.
    private static func skip(_ store: StoreKubeconfig, in document: Kubeconfig, path: String) -> KubeconfigSkip? {
        for section in Kubeconfig.Section.allCases {
            // Every entry of the name counts: replacing the first drops the others.
            guard let owner = document.owners(section, named: store.context).first(where: { !isOurs($0, store.owner) })
            else { continue }
            return KubeconfigSkip(store: store.owner.store, context: store.context, section: section, owner: owner, path: path)
        }
        return nil
    }

    /// Removes a pruned context and the cluster and user of the same name — but only those that carry
    /// the same fleet's mark: a hand-made user that happens to share the name stays.
    private static func remove(_ name: String, fleet: String, from document: inout Kubeconfig) {
        for section in Kubeconfig.Section.allCases {
            guard let body = document.body(section, named: name), KubeconfigOwner(body: body)?.fleet == fleet else {
                continue
            }
            document.remove(section, named: name)
        }
    }

    private static func checkDistinct(_ stores: [StoreKubeconfig], path: String) throws(KubeconfigError) {
        var seen: [String: String] = [:]
        for store in stores {
            if let other = seen[store.context] {
                throw KubeconfigError(
                    .conflict, path: path,
                    "stores '\(other)' and '\(store.owner.store)' both use the context name '\(store.context)'",
                    hint: "give one of them a different 'context:' in the inventory")
            }
            seen[store.context] = store.owner.store
        }
    }
}
