/// An arbitrary YAML value the user passes through to k3s (`k3s.config`), kept in the user's key order
/// so rendered files and plan output are stable and diff-friendly.
public indirect enum ConfigValue: Sendable, Hashable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null
    case list([ConfigValue])
    case map([ConfigEntry])
    /// `!env NAME` in a playbook value (read from the operator's environment when rendering) or
    /// for a k3s.config secret (read when loading): treated as a secret from then on.
    case environment(String)

    public var mapEntries: [ConfigEntry]? {
        if case let .map(entries) = self { return entries }
        return nil
    }

    public subscript(key: String) -> ConfigValue? {
        mapEntries?.first { $0.key == key }?.value
    }
}

public struct ConfigEntry: Sendable, Hashable {
    public var key: String
    public var value: ConfigValue

    public init(_ key: String, _ value: ConfigValue) {
        self.key = key
        self.value = value
    }
}

extension ConfigValue {
    /// Later entries replace earlier ones key by key (the store's `config:` over the defaults'),
    /// keeping the position of the first occurrence.
    public static func merge(_ base: [ConfigEntry], _ overlay: [ConfigEntry]) -> [ConfigEntry] {
        var result = base
        for entry in overlay {
            if let index = result.firstIndex(where: { $0.key == entry.key }) {
                result[index].value = entry.value
            } else {
                result.append(entry)
            }
        }
        return result
    }

    /// Like `merge`, but maps inside maps merge too (a store's `values: {mqtt: {port: 1884}}` keeps
    /// the defaults' other `mqtt` keys).
    public static func deepMerge(_ base: [ConfigEntry], _ overlay: [ConfigEntry]) -> [ConfigEntry] {
        var result = base
        for entry in overlay {
            guard let index = result.firstIndex(where: { $0.key == entry.key }) else {
                result.append(entry)
                continue
            }
            if let old = result[index].value.mapEntries, let new = entry.value.mapEntries {
                result[index].value = .map(deepMerge(old, new))
            } else {
                result[index].value = entry.value
            }
        }
        return result
    }

    /// Every `!env` variable this value reads.
    public var environmentNames: [String] {
        switch self {
        case let .environment(name): return [name]
        case let .list(items): return items.flatMap(\.environmentNames)
        case let .map(entries): return entries.flatMap(\.value.environmentNames)
        default: return []
        }
    }
}

extension ConfigValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([ConfigValue].self) {
            self = .list(value)
        } else {
            // JSON objects lose key order in Foundation's decoder; entries are sorted for stability.
            let dictionary = try container.decode([String: ConfigValue].self)
            if dictionary.count == 1, case let .string(name)? = dictionary[Self.environmentKey] {
                self = .environment(name)
            } else {
                self = .map(dictionary.keys.sorted().map { ConfigEntry($0, dictionary[$0]!) })
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .string(value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case let .int(value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case let .double(value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case let .bool(value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case let .list(values):
            var container = encoder.unkeyedContainer()
            for value in values { try container.encode(value) }
        case let .map(entries):
            var container = encoder.container(keyedBy: DynamicKey.self)
            for entry in entries { try container.encode(entry.value, forKey: DynamicKey(entry.key)) }
        case let .environment(name):
            // The variable's name, never its value: plans and fingerprints must not hold secrets.
            var container = encoder.container(keyedBy: DynamicKey.self)
            try container.encode(name, forKey: DynamicKey(Self.environmentKey))
        }
    }

    private static let environmentKey = "$env"

    private struct DynamicKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
