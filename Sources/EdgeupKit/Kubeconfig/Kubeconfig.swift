import Yams

/// A kubeconfig document, kept as the YAML node tree it was parsed from so that everything edgeup does
/// not manage — other entries, `preferences`, `extensions`, fields newer than this code — is written
/// back as it was read. Decoding into a struct would silently drop whatever the struct does not know.
///
/// Not `Sendable`: Yams nodes hold class references (tags, anchors). Parse it where you use it; what
/// crosses tasks is text (`StoreKubeconfig`, the file's contents).
public struct Kubeconfig {
    /// The three lists of named entries, each `{name: N, <body>: {...}}`.
    public enum Section: String, CaseIterable, Sendable {
        case clusters
        case users
        case contexts

        /// The key of an entry's body: `cluster`, `user` or `context`.
        var body: String { String(rawValue.dropLast()) }
    }

    private(set) var root: Node.Mapping
    /// Comment lines before the document: the one place where comments survive a rewrite (see
    /// `rendered()`).
    private let header: String

    /// An empty kubeconfig, as kubectl would start one.
    public init() {
        root = Node.Mapping([
            ("apiVersion", "v1"), ("kind", "Config"), ("preferences", Node([(Node, Node)]())),
            ("clusters", Node([Node]())), ("users", Node([Node]())), ("contexts", Node([Node]())),
        ])
        header = ""
    }

    /// Parses and checks a kubeconfig; `path` names the file in errors. Empty text (or only comments)
    /// is an empty kubeconfig. Anything edgeup could not rewrite without guessing is refused.
    public init(parsing text: String, path: String) throws(KubeconfigError) {
        // A store's k3s.yaml is untrusted: an alias bomb must not exhaust the operator's memory.
        if let key = YAMLExpansion.aliasKey(in: text) {
            throw KubeconfigError(
                .invalid, path: path, "uses the alias *\(key.name) as a key",
                at: SourceLocation(file: path, line: key.line, column: key.column))
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.syntaxError(error, path: path)
        } catch {
            throw KubeconfigError(.invalid, path: path, "is not valid YAML: \(error)")
        }
        guard let node else {
            self.init(root: Kubeconfig().root, header: Self.header(of: text))
            return
        }
        if let mark = YAMLExpansion.overflow(node) {
            throw KubeconfigError(
                .invalid, path: path, "expands past \(YAMLExpansion.limit) values through YAML aliases",
                at: SourceLocation(file: path, line: mark.line, column: mark.column))
        }
        guard case let .mapping(mapping) = node else {
            throw Self.invalid(path, node, "is not a kubeconfig: the document is not a mapping (key: value)")
        }
        try Self.check(mapping, path: path)
        self.init(root: mapping, header: Self.header(of: text))
    }

    private init(root: Node.Mapping, header: String) {
        self.root = root
        self.header = header
    }

    /// The document as YAML, preceded by the file's leading comment block. Comments inside the document
    /// are not kept: libyaml (under Yams) drops them when parsing — as kubectl does on every write.
    public func rendered() -> String {
        // Unlimited width: certificate data and long URLs stay on one line, as kubectl writes them.
        let body = (try? Yams.serialize(node: .mapping(root), width: -1, allowUnicode: true)) ?? ""
        return header + body
    }

    // MARK: Named entries

    /// The names in a section, in file order.
    public func names(_ section: Section) -> [String] {
        entries(section).compactMap { $0["name"]?.string }
    }

    /// The body of the named entry (`cluster:`, `user:` or `context:` mapping), if present.
    public func body(_ section: Section, named name: String) -> Node? {
        entries(section).first { $0["name"]?.string == name }?[section.body]
    }

    /// Puts `{name: name, <body>: body}` where the first entry of that name was, dropping any further
    /// entries of that name (a hand-edited file may have them; kubectl would use the first), or appends it.
    mutating func set(_ section: Section, named name: String, body: Node) {
        let entry = Self.mapping([("name", Self.string(name)), (section.body, body)])
        var items = entries(section)
        if let first = items.firstIndex(where: { $0["name"]?.string == name }) {
            items[first] = entry
            items = items.enumerated().filter { $0.offset == first || $0.element["name"]?.string != name }.map(\.element)
        } else {
            items.append(entry)
        }
        root[Node(section.rawValue)] = Node(items, Tag(.seq), .block)
    }

    mutating func remove(_ section: Section, named name: String) {
        let items = entries(section).filter { $0["name"]?.string != name }
        root[Node(section.rawValue)] = Node(items, Tag(.seq), .block)
    }

    /// `current-context`; nil when absent or empty (kubectl writes `""` for "none").
    public var currentContext: String? {
        get { root["current-context"]?.string.flatMap { $0.isEmpty ? nil : $0 } }
        set { root[Node("current-context")] = Self.string(newValue ?? "") }
    }

    /// Who wrote the named context, read from its `edgeup` extension; nil for entries edgeup did not write.
    public func owner(ofContext name: String) -> KubeconfigOwner? {
        body(.contexts, named: name).flatMap(KubeconfigOwner.init(body:))
    }

    /// The mark of every entry of that name (a hand-edited file may hold several), nil for unmarked ones.
    func owners(_ section: Section, named name: String) -> [KubeconfigOwner?] {
        entries(section).filter { $0["name"]?.string == name }.map { $0[section.body].flatMap(KubeconfigOwner.init(body:)) }
    }

    private func entries(_ section: Section) -> [Node] {
        root[section.rawValue]?.sequence.map(Array.init) ?? []
    }

    /// A plain string scalar, quoted when YAML would otherwise read it as a number, boolean or null
    /// (a store named `1234` must stay the string "1234" for kubectl).
    static func string(_ value: String) -> Node {
        .scalar(value.represented())
    }

    /// A block mapping with plain keys, in the given order.
    static func mapping(_ pairs: [(String, Node)]) -> Node {
        let nodes: [(Node, Node)] = pairs.map { (Node($0.0), $0.1) }
        return Node(nodes)
    }

    // MARK: Checks

    /// What edgeup relies on when it rewrites entries; an unexpected shape is refused instead of guessed.
    private static func check(_ root: Node.Mapping, path: String) throws(KubeconfigError) {
        if let kind = root["kind"], kind.string != "Config" {
            throw invalid(path, kind, "is not a kubeconfig: kind is '\(kind.string ?? "?")', not 'Config'")
        }
        if let current = root["current-context"], current.scalar == nil {
            throw invalid(path, current, "current-context must be a name")
        }
        for section in Section.allCases {
            guard let list = root[section.rawValue], !isNull(list) else { continue }
            guard let items = list.sequence else {
                throw invalid(path, list, "\(section.rawValue) must be a list")
            }
            for item in items {
                guard item.mapping != nil else {
                    throw invalid(path, item, "each entry of \(section.rawValue) must be a mapping")
                }
                guard let name = item["name"], name.scalar != nil, !isNull(name) else {
                    throw invalid(path, item, "an entry of \(section.rawValue) has no name")
                }
                if let body = item[section.body], !isNull(body), body.mapping == nil {
                    throw invalid(path, body, "\(section.body) of '\(name.string ?? "")' must be a mapping")
                }
            }
        }
    }

    private static func isNull(_ node: Node) -> Bool {
        node.scalar != nil && node.tagName == .null
    }

    private static func invalid(_ path: String, _ node: Node, _ message: String) -> KubeconfigError {
        let location = node.mark.map { SourceLocation(file: path, line: $0.line, column: $0.column) }
        return KubeconfigError(
            .invalid, path: path, message, at: location,
            hint: "edgeup leaves the file untouched; fix it or pass another file with --kubeconfig")
    }

    private static func syntaxError(_ error: YamlError, path: String) -> KubeconfigError {
        var location: SourceLocation?
        var problem = "\(error)"
        switch error {
        case let .scanner(_, message, mark, _), let .parser(_, message, mark, _), let .composer(_, message, mark, _):
            location = SourceLocation(file: path, line: mark.line, column: mark.column)
            problem = message
        default:
            break
        }
        return KubeconfigError(
            .invalid, path: path, "is not valid YAML: \(problem)", at: location,
            hint: "edgeup leaves the file untouched; fix it or pass another file with --kubeconfig")
    }

    /// The comment and blank lines before the first line of content.
    private static func header(of text: String) -> String {
        var header = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard trimmed.isEmpty || trimmed.hasPrefix("#") else { break }
            header += line + "\n"
        }
        // A file of nothing but comments ends without a document: keep its comments, drop trailing blanks.
        while header.hasSuffix("\n\n") { header.removeLast() }
        return header.allSatisfy(\.isWhitespace) ? "" : header
    }
}
