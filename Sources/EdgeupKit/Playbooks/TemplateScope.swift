import EdgeCore
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
    /// An `!env` value was looked up during rendering. The output is then sensitive whatever
    /// became of the value: `base64`, `json` or `uppercased` would hide it from a text search.
    private(set) var readSecret = false
    /// `!env` variables a template needed that are not set, with the value's path.
    private(set) var missingEnvironment: [(path: String, variable: String)] = []
    /// Transforms a template asked for that do not exist (Mustache would render nothing).
    private(set) var unknownTransforms: Set<String> = []
    private var nextNode = 0
    private let environment: [String: String]
    private(set) var root: TemplateNode!

    init(entries: [String: TemplateInput], environment: [String: String]) {
        self.environment = environment
        root = node(entries, path: "", isRoot: true)
    }

    func resetLog() {
        lookups = []
        readSecret = false
        missingEnvironment = []
        unknownTransforms = []
    }

    fileprivate func unknownTransform(_ name: String) { unknownTransforms.insert(name) }

    fileprivate func record(_ lookup: Lookup) { lookups.append(lookup) }

    fileprivate func secret(_ variable: String, path: String) -> TemplateText? {
        guard let value = environment[variable], !value.isEmpty else {
            missingEnvironment.append((path, variable))
            return nil
        }
        readSecret = true
        return TemplateText(value, scope: self)
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
        case let .text(text): return TemplateText(text, scope: self)
        case let .list(items): return items.map { convert($0, path: "\(path)[]") }
        case let .map(entries): return node(entries, path: path)
        case let .value(value): return convert(value, path: path)
        }
    }

    private func convert(_ value: ConfigValue, path: String) -> Any {
        switch value {
        case let .string(text): return TemplateText(text, scope: self)
        case let .int(number): return TemplateText(String(number), scope: self)
        case let .double(number): return TemplateText(String(number), scope: self)
        case let .bool(flag): return flag
        case .null: return TemplateNull()
        case let .list(items): return items.map { convert($0, path: "\(path)[]") }
        case let .map(entries):
            var children: [String: TemplateInput] = [:]
            for entry in entries { children[entry.key] = .value(entry.value) }
            return node(children, path: path)
        case let .environment(variable): return EnvironmentSecret(variable: variable, path: path, scope: self)
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
            value = secret.resolved
        }
        scope.record(TemplateScope.Lookup(
            node: id, isRoot: isRoot, path: path, name: name, found: found, known: children.keys.sorted()))
        return value
    }
}

/// Every text value in a template's context. Adds transforms for writing YAML and shell safely:
/// `{{ json(x) }}` is a double-quoted, escaped scalar (any text, even multi-line, stays one YAML
/// value), `{{ base64(x) }}` for Secret `data`, `{{ shell(x) }}` one POSIX shell word (commands
/// run as root); Mustache's own (`lowercased`, `uppercased`, …) work too. An unknown transform is
/// an error rather than nothing.
struct TemplateText: MustacheCustomRenderable, MustacheTransformable, CustomStringConvertible {
    let value: String
    unowned let scope: TemplateScope

    init(_ value: String, scope: TemplateScope) {
        self.value = value
        self.scope = scope
    }

    var renderText: String { value }
    var isNull: Bool { false }
    var description: String { value }

    func transform(_ name: String) -> Any? {
        switch name {
        case "json":
            let data = (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data()
            return TemplateText(String(decoding: data, as: UTF8.self), scope: scope)
        case "base64":
            return TemplateText(Data(value.utf8).base64EncodedString(), scope: scope)
        case "shell":
            return TemplateText(ShellQuote.quote(value), scope: scope)
        default:
            guard let result = value.transform(name) else {
                scope.unknownTransform(name)
                return nil
            }
            return (result as? String).map { TemplateText($0, scope: scope) } ?? result
        }
    }
}

/// `!env NAME`: read from the environment only when a template uses it — looked up by name, or
/// rendered as an item of a list a section iterates (which reaches it without a lookup).
struct EnvironmentSecret: MustacheCustomRenderable, MustacheTransformable {
    var variable: String
    var path: String
    unowned let scope: TemplateScope

    var resolved: TemplateText? { scope.secret(variable, path: path) }
    var renderText: String { resolved?.renderText ?? "" }
    var isNull: Bool { false }
    func transform(_ name: String) -> Any? { resolved?.transform(name) }
}

/// YAML null: renders as nothing, and a section over it is skipped.
struct TemplateNull: MustacheCustomRenderable {
    var renderText: String { "" }
    var isNull: Bool { true }
}
