import Yams

extension ConfigValue {
    /// Any YAML value, typed as YAML 1.1 resolves plain scalars (quoted scalars stay strings).
    init(yaml node: Node) {
        switch node {
        case let .scalar(scalar) where node.tag.rawValue == ConfigValue.environmentTag:
            self = .environment(scalar.string)
        case let .scalar(scalar):
            switch node.tagName {
            case .null: self = .null
            case .bool: self = node.bool.map(ConfigValue.bool) ?? .string(scalar.string)
            case .int: self = node.int.map(ConfigValue.int) ?? .string(scalar.string)
            case .float: self = node.float.map(ConfigValue.double) ?? .string(scalar.string)
            default: self = .string(scalar.string)
            }
        case let .sequence(sequence):
            self = .list(sequence.map(ConfigValue.init(yaml:)))
        case let .mapping(mapping):
            self = .map(mapping.map { ConfigEntry($0.key.string ?? "\($0.key)", ConfigValue(yaml: $0.value)) })
        case .alias:
            // Yams resolves aliases while composing; an alias node never reaches here.
            self = .null
        }
    }

    /// The YAML node for this value; strings YAML would read as another type ("0600", "true") are quoted.
    var yamlNode: Node {
        switch self {
        case let .string(text):
            let needsQuotes = text.isEmpty || Node(text).tagName != .str
            return Node(text, Tag(.str), needsQuotes ? .doubleQuoted : .any)
        case let .int(number): return Node(String(number), Tag(.int))
        case let .double(number): return Node(String(number), Tag(.float))
        case let .bool(flag): return Node(flag ? "true" : "false", Tag(.bool))
        case .null: return Node("null", Tag(.null))
        case let .list(items): return Node(items.map(\.yamlNode))
        case let .map(entries): return Node(entries.map { (Node($0.key), $0.value.yamlNode) })
        case let .environment(name): return Node(name, Tag(Tag.Name(rawValue: Self.environmentTag)))
        }
    }

    static let environmentTag = "!env"
}
