import Foundation
import Yams

/// Bounds how far YAML aliases may expand a document. Yams composes an alias as its anchor's node
/// (shared, so composing stays as small as the text), but every walk of the tree — reading values,
/// merging, rendering — visits the anchor's whole tree once per alias, and nested aliases multiply:
/// a 655-byte "billion laughs" file stands for 9⁹ values. Counting what a walk would visit, and
/// stopping at the limit, costs at most `limit` steps and no memory.
struct YAMLExpansion {
    /// Far above real inventories (inventories/coffee-shops.yaml, 48 stores, is ~1,900 values, so
    /// 5,000 such stores ~200,000), far below what exhausts a laptop.
    static let limit = 1_000_000

    let limit: Int
    private var visited = 0

    init(limit: Int = YAMLExpansion.limit) {
        self.limit = limit
    }

    /// Where the document goes past the limit — the outermost alias on the way when it can be
    /// told (an alias copies its anchor's node and mark, so it sits before its container) — or
    /// nil when it stays within it.
    static func overflow(_ node: Node, limit: Int = YAMLExpansion.limit) -> Mark? {
        var expansion = YAMLExpansion(limit: limit)
        return expansion.walk(node, container: nil, place: nil)
    }

    /// An alias used as a mapping key (`*big: x`, `? *big`), with where it is. Yams hashes every
    /// key while composing (its duplicate-key check), so an alias of a large tree costs its whole
    /// expansion before any walk can count it: minutes of CPU for a 9⁹ tree. edgeup's keys are
    /// always plain words, so such a key is refused from the text, before composing. Only aliases
    /// of anchors the text defines count, which keeps `*` in ordinary text out of it.
    static func aliasKey(in text: String) -> (name: String, line: Int, column: Int)? {
        guard text.contains("*"), text.contains("&") else { return nil }
        let whole = NSRange(text.startIndex..., in: text)
        let anchors = Set(anchorPattern.matches(in: text, range: whole).compactMap { match in
            Range(match.range(at: 1), in: text).map { String(text[$0]) }
        })
        for match in aliasKeyPattern.matches(in: text, range: whole) {
            let group = match.range(at: 1).location != NSNotFound ? 1 : 2
            guard let range = Range(match.range(at: group), in: text), anchors.contains(String(text[range])) else {
                continue
            }
            let before = text[..<range.lowerBound]
            let lineStart = before.lastIndex(of: "\n").map(before.index(after:)) ?? before.startIndex
            // The name starts one past the '*': its distance from the line start is the '*''s column.
            return (String(text[range]), before.count { $0 == "\n" } + 1, before.distance(from: lineStart, to: before.endIndex))
        }
        return nil
    }

    /// `&name` (libyaml's anchor names: letters, digits, '-' and '_').
    private static let anchorPattern = try! NSRegularExpression(
        pattern: "(?:^|[\\s\\[{,])&([A-Za-z0-9_-]+)", options: .anchorsMatchLines)
    /// `? *name` (explicit key) or `*name:` followed by a space, a flow indicator or the line's end.
    private static let aliasKeyPattern = try! NSRegularExpression(
        pattern: "(?:^|[\\s\\[{,])(?:\\?[ \\t]+\\*([A-Za-z0-9_-]+)|\\*([A-Za-z0-9_-]+)[ \\t]*:(?:[ \\t,}\\]]|$))",
        options: .anchorsMatchLines)

    private mutating func walk(_ node: Node, container: Mark?, place: Mark?) -> Mark? {
        visited += 1
        let aliasUse = Self.precedes(node.mark, container) ? place : nil
        if visited > limit { return aliasUse ?? node.mark }
        switch node {
        case .scalar, .alias:
            return nil
        case let .sequence(sequence):
            for child in sequence {
                if let mark = walk(child, container: node.mark, place: node.mark) { return aliasUse ?? mark }
            }
        case let .mapping(mapping):
            for (key, value) in mapping {
                if let mark = walk(key, container: node.mark, place: node.mark)
                    ?? walk(value, container: node.mark, place: key.mark)
                {
                    return aliasUse ?? mark
                }
            }
        }
        return nil
    }

    private static func precedes(_ mark: Mark?, _ other: Mark?) -> Bool {
        guard let mark, let other else { return false }
        return (mark.line, mark.column) < (other.line, other.column)
    }
}
