import Foundation
import Mustache

/// What a template can see — `store`, `values`, `host`, `playbook` — as Mustache context objects
/// that log every lookup. Mustache renders an unknown name as nothing; a baseline manifest with a
/// silently empty namespace is worse than no manifest, so `TemplateEngine` turns logged misses
/// into errors.
final class TemplateScope {
    /// One lookup by the renderer: on which node, for which name, found or not.
    struct Lookup {
        var node: Int
        var isRoot: Bool
        var path: String
        var name: String
        var found: Bool
        /// The node's own keys, for "did you mean".
        var known: [String]
    }

    private(set) var lookups: [Lookup] = []
    /// `!env` values read during rendering (the output containing one is sensitive).
    private(set) var secretsRead: Set<String> = []
    /// `!env` variables a template needed that are not set, with the value's path.
    private(set) var missingEnvironment: [(path: String, variable: String)] = []
    private var nextNode = 0
    private let environment: [String: String]
    private(set) var root: TemplateNode!

    init(entries: [String: TemplateInput], environment: [String: String]) {
        self.environment = environment
        root = node(entries, path: "", isRoot: true)
    }

    func resetLog() {
        lookups = []
        secretsRead = []
        missingEnvironment = []
    }

    fileprivate func record(_ lookup: Lookup) { lookups.append(lookup) }

    fileprivate func secret(_ variable: String, path: String) -> String? {
        guard let value = environment[variable], !value.isEmpty else {
            missingEnvironment.append((path, variable))
            return nil
        }
        secretsRead.insert(value)
        return value
    }

    private func node(_ entries: [String: TemplateInput], path: String, isRoot: Bool = false) -> TemplateNode {
        nextNode += 1
        let id = nextNode
        var children: [String: Any] = [:]
        for (key, value) in entries {
            children[key] = convert(value, path: path.isEmpty ? key : "\(path).\(key)")
        }
        return TemplateNode(id: id, path: path, isRoot: isRoot, children: children, scope: self)
    }

    private func convert(_ input: TemplateInput, path: String) -> Any {
        switch input {
        case let .text(text): return text
        case let .list(items): return items.map { convert($0, path: "\(path)[]") }
        case let .map(entries): return node(entries, path: path)
        case let .value(value): return convert(value, path: path)
        }
    }

    private func convert(_ value: ConfigValue, path: String) -> Any {
        switch value {
        case let .string(text): return text
        case let .int(number): return number
        case let .double(number): return number
        case let .bool(flag): return flag
        case .null: return TemplateNull()
        case let .list(items): return items.map { convert($0, path: "\(path)[]") }
        case let .map(entries):
            var children: [String: TemplateInput] = [:]
            for entry in entries { children[entry.key] = .value(entry.value) }
            return node(children, path: path)
        case let .environment(variable): return EnvironmentSecret(variable: variable, path: path)
        }
    }
}

/// A value handed to a template scope: text, a nested map or list, or an inventory value.
indirect enum TemplateInput {
    case text(String)
    case list([TemplateInput])
    case map([String: TemplateInput])
    case value(ConfigValue)
}

/// A mapping in the template context; its lookups are logged in its scope.
struct TemplateNode: MustacheParent {
    let id: Int
    let path: String
    let isRoot: Bool
    let children: [String: Any]
    unowned let scope: TemplateScope

    func child(named name: String) -> Any? {
        var value = children[name]
        // A declared `!env` value is found even when its variable is unset: that is its own error.
        let found = value != nil
        if let secret = value as? EnvironmentSecret {
            value = scope.secret(secret.variable, path: secret.path)
        }
        scope.record(TemplateScope.Lookup(
            node: id, isRoot: isRoot, path: path, name: name, found: found, known: children.keys.sorted()))
        return value
    }
}

/// `!env NAME`: read from the environment only when a template uses it.
struct EnvironmentSecret {
    var variable: String
    var path: String
}

/// YAML null: renders as nothing, and a section over it is skipped.
struct TemplateNull: MustacheCustomRenderable {
    var renderText: String { "" }
    var isNull: Bool { true }
}
