import Yams

/// A value read from the inventory, with where it was written (for errors and relative paths).
struct Located<Value: Sendable>: Sendable {
    var value: Value
    var location: SourceLocation
}

/// The keys of one YAML mapping, each with its value node and where the key was written.
struct Fields {
    var entries: [String: (key: Node, value: Node)]
    var location: SourceLocation

    subscript(key: String) -> Node? { entries[key]?.value }

    func keyLocation(_ key: String, reader: YAMLReader) -> SourceLocation {
        entries[key].map { reader.location($0.key) } ?? location
    }
}

/// Reads a composed YAML tree into typed values, recording every problem with its location instead
/// of stopping at the first, so one `validate` run lists them all.
final class YAMLReader {
    let file: String
    private(set) var diagnostics = Diagnostics()

    init(file: String) {
        self.file = file
    }

    func location(_ node: Node) -> SourceLocation {
        let mark = node.mark
        return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    func error(_ message: String, at node: Node, hint: String? = nil) {
        diagnostics.error(message, at: location(node), hint: hint)
    }

    func error(_ message: String, at location: SourceLocation, hint: String? = nil) {
        diagnostics.error(message, at: location, hint: hint)
    }

    func warning(_ message: String, at location: SourceLocation, hint: String? = nil) {
        diagnostics.warning(message, at: location, hint: hint)
    }

    /// The file's one YAML document, or nil once it reported why not: an alias as a key (refused
    /// before composing), invalid YAML, aliases that expand it past `YAMLExpansion.limit`
    /// (checked before anything walks the tree), or no document at all (`empty`, with `hint`).
    func document(_ text: String, empty: String, hint: String? = nil) -> Node? {
        if let key = YAMLExpansion.aliasKey(in: text) {
            self.error(
                "an alias (*\(key.name)) is used as a key", at: SourceLocation(file: file, line: key.line, column: key.column),
                hint: "keys are plain words; write the key out instead of an alias")
            return nil
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            report(yamlError: error)
            return nil
        }
        guard let root else {
            self.error(empty, at: SourceLocation(file: file, line: 1, column: 1), hint: hint)
            return nil
        }
        if let mark = YAMLExpansion.overflow(root) {
            self.error(
                "YAML aliases expand this document to more than \(YAMLExpansion.limit) values",
                at: SourceLocation(file: file, line: mark.line, column: mark.column),
                hint: "each alias (*name) repeats its anchor's whole tree, and aliases of aliases multiply; "
                    + "write the values out, or use fewer levels of aliases")
            return nil
        }
        return root
    }

    func report(yamlError error: any Error) {
        let problem = YAMLProblem(error)
        self.error(
            problem.message, at: SourceLocation(file: file, line: problem.line, column: problem.column),
            hint: problem.hint { SourceLocation(file: file, line: $0, column: $1) })
    }

    /// The entries of a mapping; unknown keys are reported with a suggestion, missing required keys too.
    func fields(_ node: Node, in context: String, allowed: [String], required: [String] = []) -> Fields? {
        guard case let .mapping(mapping) = node else {
            error("\(context) must be a mapping (key: value), found \(kind(of: node))", at: node)
            return nil
        }
        var entries: [String: (key: Node, value: Node)] = [:]
        var merged: [(key: Node, value: Node)] = []
        for (keyNode, valueNode) in mapping {
            guard case let .scalar(scalar) = keyNode else {
                error("keys in \(context) must be plain words", at: keyNode)
                continue
            }
            // YAML merge keys (`<<: *defaults`) are resolved here so anchors work in inventories.
            if scalar.string == "<<" {
                merged.append(contentsOf: mergeSources(valueNode))
                continue
            }
            guard allowed.contains(scalar.string) else {
                let suggestion = Suggestions.didYouMean(scalar.string, in: allowed)
                let known = "known keys: " + allowed.joined(separator: ", ")
                error(
                    "unknown key '\(scalar.string)' in \(context)", at: keyNode,
                    hint: suggestion.map { "\($0) (\(known))" } ?? known)
                continue
            }
            entries[scalar.string] = (keyNode, valueNode)
        }
        for (keyNode, valueNode) in merged {
            guard let key = keyNode.string, allowed.contains(key), entries[key] == nil else { continue }
            entries[key] = (keyNode, valueNode)
        }
        let fields = Fields(entries: entries, location: location(node))
        for key in required where entries[key] == nil {
            error("missing required key '\(key)' in \(context)", at: node)
        }
        return fields
    }

    private func mergeSources(_ node: Node) -> [(key: Node, value: Node)] {
        switch node {
        case let .mapping(mapping):
            return mapping.map { ($0.key, $0.value) }
        case let .sequence(sequence):
            return sequence.flatMap { mergeSources($0) }
        default:
            error("a merge key (<<) needs a mapping or a list of mappings", at: node)
            return []
        }
    }

    func string(_ node: Node?, _ what: String) -> Located<String>? {
        guard let node else { return nil }
        guard case let .scalar(scalar) = node, node.tagName != .null else {
            error("\(what) must be a string, found \(kind(of: node))", at: node)
            return nil
        }
        return Located(value: scalar.string, location: location(node))
    }

    func int(_ node: Node?, _ what: String, hint: String? = nil) -> Located<Int>? {
        guard let node else { return nil }
        guard case .scalar = node, let value = node.int else {
            error("\(what) must be a whole number, found \(describe(node))", at: node, hint: hint)
            return nil
        }
        return Located(value: value, location: location(node))
    }

    func bool(_ node: Node?, _ what: String) -> Located<Bool>? {
        guard let node else { return nil }
        guard case .scalar = node, node.tagName == .bool, let value = node.bool else {
            error("\(what) must be true or false, found \(describe(node))", at: node)
            return nil
        }
        return Located(value: value, location: location(node))
    }

    func sequence(_ node: Node?, _ what: String) -> [Node]? {
        guard let node else { return nil }
        guard case let .sequence(sequence) = node else {
            error("\(what) must be a list, found \(kind(of: node))", at: node)
            return nil
        }
        return Array(sequence)
    }

    func stringList(_ node: Node?, _ what: String) -> [Located<String>]? {
        guard let items = sequence(node, what) else { return nil }
        return items.compactMap { string($0, "each entry of \(what)") }
    }

    /// A mapping of plain strings (labels); values that YAML reads as numbers or booleans keep their text.
    func stringMap(_ node: Node?, _ what: String) -> [(key: Located<String>, value: Located<String>)]? {
        guard let node else { return nil }
        guard case let .mapping(mapping) = node else {
            error("\(what) must be a mapping (key: value), found \(kind(of: node))", at: node)
            return nil
        }
        var result: [(key: Located<String>, value: Located<String>)] = []
        for (keyNode, valueNode) in mapping {
            guard let key = string(keyNode, "a key in \(what)") else { continue }
            if valueNode.tagName == .null, case .scalar = valueNode {
                result.append((key, Located(value: "", location: location(valueNode))))
            } else if let value = string(valueNode, "the value of \(key.value) in \(what)") {
                result.append((key, value))
            }
        }
        return result
    }

    func kind(of node: Node) -> String {
        switch node {
        case .scalar: node.tagName == .null ? "nothing (null)" : "a single value"
        case .sequence: "a list"
        case .mapping: "a mapping"
        case .alias: "an alias"
        }
    }

    private func describe(_ node: Node) -> String {
        if case let .scalar(scalar) = node, node.tagName != .null { return "'\(scalar.string)'" }
        return kind(of: node)
    }
}

/// A Yams parse error as a message and the 1-based position it names, plus where the construct
/// it was reading began (libyaml notices an unclosed `[` only where the text ends).
struct YAMLProblem {
    var message: String
    var line = 1
    var column = 1
    var context: (text: String, line: Int, column: Int)?
    var hint: String?

    init(_ error: any Error) {
        switch error as? YamlError {
        case let .scanner(context, problem, mark, _)?, let .parser(context, problem, mark, _)?,
            let .composer(context, problem, mark, _)?:
            message = "invalid YAML: \(problem)"
            (line, column) = (mark.line, mark.column)
            if let context, !context.text.isEmpty {
                self.context = (context.text.replacingOccurrences(of: "while parsing ", with: ""), context.mark.line, context.mark.column)
            }
        case let .duplicatedKeysInMapping(duplicates, context)?:
            message = "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in one mapping"
            (line, column) = (context.mark.line, context.mark.column)
            hint = "each key may appear once; merge the two entries"
        default:
            message = "invalid YAML: \(error)"
        }
    }

    /// "the flow sequence starts at FILE:7:11", with the position mapped by `locate`.
    func hint(locate: (Int, Int) -> SourceLocation) -> String? {
        guard let context else { return hint }
        return "in the \(context.text) that starts at \(locate(context.line, context.column))"
    }
}

extension Node {
    /// The resolved YAML tag (Yams keeps `Tag.name` internal; its description is the name).
    var tagName: Tag.Name { Tag.Name(rawValue: tag.description) }
}
