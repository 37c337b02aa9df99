#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which stores (and hosts) a command works on: name globs, label selectors, a role, a CI shard.
/// Pure: the same inventory and selection always give the same stores, in inventory order.
public struct StoreSelection: Sendable, Hashable {
    public var storeGlobs: [String]
    public var selectors: [LabelSelector]
    public var role: Role?
    public var shard: Shard?

    public init(storeGlobs: [String] = [], selectors: [LabelSelector] = [], role: Role? = nil, shard: Shard? = nil) {
        self.storeGlobs = storeGlobs
        self.selectors = selectors
        self.role = role
        self.shard = shard
    }

    /// The selected stores; with a role, each store keeps only hosts of that role (stores left with
    /// no host drop out).
    public func apply(to inventory: Inventory) -> [Store] {
        var stores = inventory.stores.filter { store in
            (storeGlobs.isEmpty || storeGlobs.contains { Self.glob($0, matches: store.name) })
                && selectors.allSatisfy { $0.matches(store.labels) }
        }
        if let shard {
            // Round-robin over names in sorted order: balanced, and independent of file order.
            let order = stores.map(\.name).sorted()
            let mine = Set(order.enumerated().filter { $0.offset % shard.count == shard.index - 1 }.map(\.element))
            stores = stores.filter { mine.contains($0.name) }
        }
        if let role {
            stores = stores.compactMap { store in
                var store = store
                store.hosts = store.hosts.filter { $0.role == role }
                return store.hosts.isEmpty ? nil : store
            }
        }
        return stores
    }

    /// Shell-style glob (`*`, `?`, `[a-z]`), as users type it for --stores.
    public static func glob(_ pattern: String, matches name: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }
}

/// `key=value`, `key!=value` or `key` (exists), matched against store labels.
public struct LabelSelector: Sendable, Hashable, CustomStringConvertible {
    public enum Operation: Sendable, Hashable {
        case equals(String)
        case notEquals(String)
        case exists
    }

    public var key: String
    public var operation: Operation

    public init(key: String, operation: Operation) {
        self.key = key
        self.operation = operation
    }

    public init?(parsing text: String) {
        if let range = text.range(of: "!=") {
            key = String(text[..<range.lowerBound])
            operation = .notEquals(String(text[range.upperBound...]))
        } else if let equals = text.firstIndex(of: "=") {
            key = String(text[..<equals])
            operation = .equals(String(text[text.index(after: equals)...]))
        } else {
            key = text
            operation = .exists
        }
        if key.isEmpty { return nil }
    }

    public func matches(_ labels: [String: String]) -> Bool {
        switch operation {
        case let .equals(value): labels[key] == value
        case let .notEquals(value): labels[key] != value
        case .exists: labels[key] != nil
        }
    }

    public var description: String {
        switch operation {
        case let .equals(value): "\(key)=\(value)"
        case let .notEquals(value): "\(key)!=\(value)"
        case .exists: key
        }
    }
}

/// `i/n`: this runner takes the i-th of n deterministic, disjoint parts of the selection.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init?(index: Int, count: Int) {
        guard count >= 1, (1...count).contains(index) else { return nil }
        self.index = index
        self.count = count
    }

    public init?(parsing text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else { return nil }
        self.init(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }
}
