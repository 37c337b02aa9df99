extension KubeconfigMerger {
    /// `edgeup reset`: removes each store's context, cluster and user — only entries edgeup wrote
    /// for that store (`isOurs`); an entry of the same name that is the operator's or another
    /// store's stays, and so does everything else. A removed current context leaves none current.
    /// Pure, like `merge`.
    public static func removing(_ stores: [StoreKubeconfigName], from existing: String?, path: String)
        throws(KubeconfigError) -> KubeconfigMergeResult
    {
        guard let existing else { return KubeconfigMergeResult(text: "", changed: false) }
        var document = try Kubeconfig(parsing: existing, path: path)
        let before = document
        var result = KubeconfigMergeResult(text: existing, changed: false)
        for store in stores {
            var removed = false
            for section in Kubeconfig.Section.allCases {
                let owners = document.owners(section, named: store.context)
                guard !owners.isEmpty, owners.allSatisfy({ isOurs($0, store.owner) }) else { continue }
                document.remove(section, named: store.context)
                removed = true
            }
            if removed { result.removed.append(store.context) }
        }
        if let current = document.currentContext, result.removed.contains(current) { document.currentContext = nil }
        result.currentContext = document.currentContext
        result.changed = document.root != before.root
        if result.changed { result.text = document.rendered() }
        return result
    }
}

/// A store's kubeconfig entries by name and owner, without their content (for removal).
public struct StoreKubeconfigName: Sendable, Hashable {
    public var context: String
    public var owner: KubeconfigOwner

    public init(context: String, owner: KubeconfigOwner) {
        self.context = context
        self.owner = owner
    }
}
