/// A host of a store, as fleet-wide operations address it.
public struct StoreHost: Sendable, Hashable {
    public var store: Store
    public var host: Host

    public init(store: Store, host: Host) {
        self.store = store
        self.host = host
    }

    /// `store/host`, the prefix every per-host line carries.
    public var label: String { store.name + "/" + host.name }

    /// Every host of `stores`, store by store; `removing`: with the hosts marked for removal (a
    /// plan needs their facts to take them out).
    public static func all(in stores: [Store], removing: Bool = false) -> [StoreHost] {
        stores.flatMap { store in (store.hosts + (removing ? store.removing : [])).map { StoreHost(store: store, host: $0) } }
    }
}

/// Runs `work` for every item with at most `limit` at once (a sliding window, so a thousand hosts
/// never means a thousand tasks), returning results in the input order.
public func fanOut<Item: Sendable, Result: Sendable>(
    _ hosts: [Item], limit: Int, _ work: @escaping @Sendable (Item) async -> Result
) async -> [Result] {
    await withTaskGroup(of: (Int, Result).self) { group in
        var results = [Result?](repeating: nil, count: hosts.count)
        var next = 0
        func startNext() {
            guard next < hosts.count else { return }
            let index = next
            next += 1
            group.addTask { (index, await work(hosts[index])) }
        }
        for _ in 0..<min(max(1, limit), hosts.count) { startNext() }
        while let (index, result) = await group.next() {
            results[index] = result
            startNext()
        }
        return results.compactMap { $0 }
    }
}
