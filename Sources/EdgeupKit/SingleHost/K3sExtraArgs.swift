/// Turns k3sup-style `--k3s-extra-args '--disable traefik --node-label a=b'` into config.yaml
/// entries, so extra settings never end up in a service's argv.
public enum K3sExtraArgs {
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ text: String) throws(Problem) -> [ConfigEntry] {
        let words = try split(text)
        var entries: [ConfigEntry] = []
        var index = 0
        while index < words.count {
            let word = words[index]
            guard word.hasPrefix("--"), word.count > 2 else {
                throw Problem(description: "expected a flag like --disable, found '\(word)'")
            }
            var key = String(word.dropFirst(2))
            var value: ConfigValue
            if let equals = key.firstIndex(of: "=") {
                value = .string(String(key[key.index(after: equals)...]))
                key = String(key[..<equals])
            } else if index + 1 < words.count, !words[index + 1].hasPrefix("--") {
                index += 1
                value = .string(words[index])
            } else {
                value = .bool(true)
            }
            if let existing = entries.firstIndex(where: { $0.key == key }) {
                // A repeated flag is a list, as k3s reads repeated flags.
                switch entries[existing].value {
                case let .list(items): entries[existing].value = .list(items + [value])
                case let single: entries[existing].value = .list([single, value])
                }
            } else {
                entries.append(ConfigEntry(key, value))
            }
            index += 1
        }
        return entries
    }

    /// Shell-like word splitting with single and double quotes (no expansion).
    static func split(_ text: String) throws(Problem) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        for character in text {
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "'" || character == "\"" {
                quote = character
                inWord = true
            } else if character.isWhitespace {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        if quote != nil { throw Problem(description: "unbalanced quote in --k3s-extra-args") }
        if inWord { words.append(current) }
        return words
    }
}
