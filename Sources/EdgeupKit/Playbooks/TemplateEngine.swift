import Foundation
import Mustache

/// Renders playbook templates with Mustache (hummingbird-project/swift-mustache): `{{ store.name }}`,
/// sections over lists and conditions, no HTML escaping. Strict where Mustache is lenient: a name
/// that resolves to nothing is an error at the template's file:line:column.
enum TemplateEngine {
    /// Mustache escapes HTML by default; manifests and files are not HTML.
    private static let textPragma = "{{% CONTENT_TYPE: TEXT}}"

    struct Rendered {
        var text: String
        /// The template looked up a value read with `!env`.
        var sensitive: Bool
    }

    /// Parses once; the result renders for every store.
    static func compile(_ template: PlaybookTemplate) -> Result<MustacheTemplate, DiagnosticsError> {
        do {
            return .success(try MustacheTemplate(string: textPragma + template.text))
        } catch let error as MustacheTemplate.ParserError {
            let context = error.context
            let column = context.lineNumber == 1 ? context.columnNumber - textPragma.count : context.columnNumber
            return .failure(DiagnosticsError([.error(
                "template error in \(template.source): \(describe(error.error))",
                at: template.location(line: context.lineNumber, column: max(1, column)),
                hint: "Mustache syntax: {{ name }}, {{#list}}…{{/list}}, {{^flag}}…{{/flag}}")]))
        } catch {
            return .failure(DiagnosticsError([
                .error("template error in \(template.source): \(error)", at: template.location(line: 1, column: 1))]))
        }
    }

    static func render(
        _ compiled: MustacheTemplate, _ template: PlaybookTemplate, in scope: TemplateScope
    ) -> Result<Rendered, DiagnosticsError> {
        scope.resetLog()
        let text = compiled.render(scope.root!)
        var problems: [Diagnostic] = []
        var reported = Set<String>()
        for miss in misses(scope.lookups) where reported.insert(miss.name).inserted {
            let hint = Suggestions.didYouMean(miss.last, in: miss.known)
                ?? (miss.known.isEmpty ? nil : "known here: " + miss.known.joined(separator: ", "))
            problems.append(.error(
                "unknown template variable '\(miss.name)'",
                at: locate(miss.last, in: template), hint: hint))
        }
        for missing in scope.missingEnvironment where reported.insert(missing.variable).inserted {
            problems.append(.error(
                "\(missing.path) reads the environment variable \(missing.variable), which is not set",
                at: locate(missing.path.split(separator: ".").last.map(String.init) ?? missing.path, in: template),
                hint: "export \(missing.variable) before running edgeup, or set the value in the inventory"))
        }
        for name in scope.unknownTransforms.sorted() {
            problems.append(.error(
                "unknown transform '\(name)'", at: locate(name, in: template),
                hint: "transforms: json, base64, shell, lowercased, uppercased, capitalized, empty; on lists: first, last, count, empty"))
        }
        guard problems.isEmpty else { return .failure(DiagnosticsError(problems)) }
        return .success(Rendered(text: text, sensitive: scope.readSecret))
    }

    struct Miss {
        var name: String
        var last: String
        var known: [String]
    }

    /// Turns the lookup log into the names that resolved to nothing. Mustache looks a name's first
    /// part up from the innermost section outwards, so a miss inside a section is only final when
    /// the search does not go on outwards (the next lookup is not the same name on another node)
    /// or ends at the root without a hit; later parts of a dotted name are looked up once.
    static func misses(_ lookups: [TemplateScope.Lookup]) -> [Miss] {
        var result: [Miss] = []
        var pending: TemplateScope.Lookup?
        func fail(_ lookup: TemplateScope.Lookup) {
            let name = lookup.isRoot || lookup.path.isEmpty ? lookup.name : "\(lookup.path).\(lookup.name)"
            result.append(Miss(name: name.replacingOccurrences(of: "[]", with: ""), last: lookup.name, known: lookup.known))
        }
        for lookup in lookups {
            if let open = pending {
                if lookup.name == open.name && lookup.node != open.node {
                    if lookup.found {
                        pending = nil
                    } else if lookup.isRoot {
                        pending = nil
                        fail(lookup)
                    }
                    continue
                }
                fail(open)
                pending = nil
            }
            guard !lookup.found else { continue }
            if lookup.isRoot { fail(lookup) } else { pending = lookup }
        }
        if let open = pending { fail(open) }
        return result
    }

    /// The first tag whose name mentions `part`, as a file location.
    static func locate(_ part: String, in template: PlaybookTemplate) -> SourceLocation {
        let tag = tags(in: template.text).first { tag in
            let names = tag.inner.split(whereSeparator: { "{}#^/&() \t".contains($0) })
            return names.contains { $0.split(separator: ".").contains(Substring(part)) }
        }
        return template.location(line: tag?.line ?? 1, column: tag?.column ?? 1)
    }

    /// A command runs as root through `sh`, so a value pasted into it is shell syntax: `{{ x }}`
    /// with x = `a; reboot` runs `reboot`. Every value tag in a command must therefore go through
    /// `shell(…)`, or say with `{{{ x }}}` / `{{& x }}` that it is meant as shell text. Returns the
    /// offending tags. Set-delimiter tags are refused: after one, these tags could not be found.
    static func unquotedValues(in template: PlaybookTemplate) -> [Diagnostic] {
        tags(in: template.text).compactMap { tag in
            let inner = tag.inner.trimmingCharacters(in: .whitespaces)
            let location = template.location(line: tag.line, column: tag.column)
            switch inner.first {
            case "=":
                return .error(
                    "a command cannot change the template delimiters", at: location,
                    hint: "keep {{ }} in commands, so edgeup can check how each value is quoted")
            case "#", "^", "/", "!", ">", "<", "$", "%", "{", "&", nil:
                return nil
            default:
                guard !inner.hasPrefix("shell(") else { return nil }
                return .error(
                    "a command uses {{ \(inner) }} without shell(…)", at: location,
                    hint: "write {{ shell(\(inner)) }} to pass the value as one quoted word, "
                        + "or {{{ \(inner) }}} if it is meant as shell syntax")
            }
        }
    }

    /// The `{{…}}` tags of a template: their text between the braces and where they start (1-based).
    private static func tags(in text: String) -> [(inner: Substring, line: Int, column: Int)] {
        var result: [(inner: Substring, line: Int, column: Int)] = []
        var line = 1
        var column = 1
        var index = text.startIndex
        var end = text.startIndex
        while index < text.endIndex {
            // A tag is read whole: `{{{ x }}}` is one tag, not also a `{{ x }}` inside it.
            if index >= end, text[index...].hasPrefix("{{"), let close = text[index...].range(of: "}}") {
                result.append((text[text.index(index, offsetBy: 2)..<close.lowerBound], line, column))
                end = close.upperBound
            }
            if text[index] == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
            index = text.index(after: index)
        }
        return result
    }

    private static func describe(_ error: any Error) -> String {
        switch error as? MustacheTemplate.Error {
        case .sectionCloseNameIncorrect?: "a section is closed with another name than it was opened with"
        case .unfinishedName?: "a tag is not closed (missing }})"
        case .expectedSectionEnd?: "a section is never closed ({{/name}} missing)"
        case .invalidSetDelimiter?: "invalid set-delimiter tag"
        default: "\(error)"
        }
    }
}
