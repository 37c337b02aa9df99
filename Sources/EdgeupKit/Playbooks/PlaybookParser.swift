import Foundation
import Yams

/// Reads one playbook file into a `Playbook`, reporting every shape problem with its location.
/// Manifest files a step names are read here too (relative to the playbook's folder), so a missing
/// file is a load error, not a surprise on the hundredth store.
final class PlaybookParser {
    static let topLevelKeys = ["description", "values", "steps"]
    static let stepKeys = ["name", "manifests", "files", "commands", "deploy", "wait", "when"]
    static let manifestKeys = ["file", "inline"]
    static let fileKeys = ["path", "content", "source", "mode"]
    static let whenKeys = ["role"]
    static let defaultWait = Duration.seconds(180)

    let name: String
    let reader: YAMLReader
    /// Reads a file a playbook refers to; nil when it cannot be read.
    let readFile: (String) -> String?
    /// The playbook's lines, for the indentation of block scalars (Yams does not report it).
    private var lines: [Substring] = []

    init(name: String, path: String, readFile: @escaping (String) -> String?) {
        self.name = name
        self.reader = YAMLReader(file: path)
        self.readFile = readFile
    }

    var diagnostics: Diagnostics { reader.diagnostics }
    private var directory: String { (reader.file as NSString).deletingLastPathComponent }

    func parse(_ text: String) -> Playbook? {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let root = reader.document(text, empty: "playbook \(name) is empty"),
            let fields = reader.fields(root, in: "playbook \(name)", allowed: Self.topLevelKeys, required: ["steps"])
        else {
            return nil
        }
        var values: [ConfigEntry] = []
        if let node = fields["values"] {
            if case .mapping = node, let entries = ConfigValue(yaml: node).mapEntries {
                values = entries
            } else {
                reader.error("values must be a mapping, found \(reader.kind(of: node))", at: node)
            }
        }
        var steps: [PlaybookStep] = []
        var slugs: [String: SourceLocation] = [:]
        for (index, node) in (reader.sequence(fields["steps"], "steps") ?? []).enumerated() {
            guard let step = parseStep(node, number: index + 1) else { continue }
            if let first = slugs[step.slug] {
                reader.error(
                    "two steps are both called '\(step.name)' (first at \(first))", at: step.location,
                    hint: "step names identify what was applied; give each step its own")
                continue
            }
            slugs[step.slug] = step.location
            steps.append(step)
        }
        return Playbook(
            name: name, file: reader.file, description: reader.string(fields["description"], "description")?.value,
            values: values, steps: steps)
    }

    private func parseStep(_ node: Node, number: Int) -> PlaybookStep? {
        guard let fields = reader.fields(node, in: "step \(number)", allowed: Self.stepKeys) else { return nil }
        let kinds = ["manifests", "files", "commands"].filter { fields[$0] != nil }
        guard kinds.count == 1 else {
            reader.error(
                kinds.isEmpty ? "step \(number) does nothing" : "step \(number) has both \(kinds.joined(separator: " and "))",
                at: node, hint: "each step has exactly one of manifests, files or commands; split it in two")
            return nil
        }
        let name = reader.string(fields["name"], "step name")?.value ?? "step \(number)"
        let role = fields["when"].flatMap(parseWhen)
        let action: PlaybookStep.Action
        switch kinds[0] {
        case "manifests":
            if let when = fields["when"] {
                reader.error("manifests go through the cluster; 'when' applies to files and commands", at: when)
            }
            let deploy = parseDeploy(fields["deploy"])
            action = .manifests(parseManifests(fields["manifests"]!), deploy: deploy, wait: parseWait(fields["wait"]))
        case "files":
            for key in ["deploy", "wait"] where fields[key] != nil {
                reader.error("'\(key)' applies to manifests, not files", at: fields.keyLocation(key, reader: reader))
            }
            action = .files(parseFiles(fields["files"]!))
        default:
            for key in ["deploy", "wait"] where fields[key] != nil {
                reader.error("'\(key)' applies to manifests, not commands", at: fields.keyLocation(key, reader: reader))
            }
            let commands = (reader.sequence(fields["commands"], "commands") ?? []).enumerated().compactMap { index, node in
                template(node, source: "command-\(index + 1)", what: "a command")
            }
            for problem in commands.flatMap(TemplateEngine.unquotedValues) {
                reader.error(problem.message, at: problem.location ?? reader.location(node), hint: problem.hint)
            }
            action = .commands(commands)
        }
        return PlaybookStep(name: name, slug: Self.slug(name), action: action, role: role, location: reader.location(node))
    }

    private func parseManifests(_ node: Node) -> [PlaybookTemplate] {
        var result: [PlaybookTemplate] = []
        var inline = 0
        for item in reader.sequence(node, "manifests") ?? [] {
            if case .scalar = item, let path = reader.string(item, "a manifest file") {
                if let loaded = load(path) { result.append(loaded) }
                continue
            }
            guard let fields = reader.fields(item, in: "a manifest", allowed: Self.manifestKeys) else { continue }
            if let path = reader.string(fields["file"], "file") {
                if let loaded = load(path) { result.append(loaded) }
            } else if let text = fields["inline"] {
                inline += 1
                if let template = template(text, source: "inline-\(inline)", what: "inline") { result.append(template) }
            } else {
                reader.error("a manifest needs 'file' or 'inline'", at: item)
            }
        }
        return result
    }

    private func parseFiles(_ node: Node) -> [PlaybookFile] {
        var result: [PlaybookFile] = []
        for item in reader.sequence(node, "files") ?? [] {
            guard let fields = reader.fields(item, in: "a file", allowed: Self.fileKeys, required: ["path"]),
                let pathNode = fields["path"], let path = template(pathNode, source: "path", what: "path")
            else { continue }
            var mode: UInt16 = 0o644
            if let modeNode = fields["mode"] {
                if let text = reader.string(modeNode, "mode"), let value = UInt16(text.value, radix: 8), value <= 0o7777 {
                    mode = value
                } else {
                    reader.error("mode must be octal, like \"0644\" (quoted)", at: modeNode)
                }
            }
            let content: PlaybookTemplate?
            switch (fields["content"], fields["source"]) {
            case let (node?, nil): content = template(node, source: path.text, what: "content")
            case let (nil, node?): content = reader.string(node, "source").flatMap(load)
            default:
                reader.error("a file needs exactly one of 'content' or 'source'", at: item)
                content = nil
            }
            if let content { result.append(PlaybookFile(path: path, content: content, mode: mode)) }
        }
        return result
    }

    /// A template written in the playbook itself: its text starts on the line after a `|` or `>`.
    private func template(_ node: Node, source: String, what: String) -> PlaybookTemplate? {
        guard case let .scalar(scalar) = node, let text = reader.string(node, what) else { return nil }
        let block = scalar.style == .literal || scalar.style == .folded
        let start = text.location
        guard block else {
            return PlaybookTemplate(
                text: text.value, source: source, file: reader.file, firstLine: start.line,
                firstColumn: start.column + (scalar.style == .plain ? 0 : 1))
        }
        let firstLine = start.line + 1
        let indent = lines.indices.contains(firstLine - 1) ? lines[firstLine - 1].prefix { $0 == " " }.count : 0
        return PlaybookTemplate(text: text.value, source: source, file: reader.file, firstLine: firstLine, indent: indent)
    }

    /// A template in its own file, relative to the playbook's folder.
    private func load(_ path: Located<String>) -> PlaybookTemplate? {
        let full = path.value.hasPrefix("/") ? path.value : (directory as NSString).appendingPathComponent(path.value)
        guard let text = readFile(full) else {
            reader.error("cannot read \(path.value) (looked at \(full))", at: path.location)
            return nil
        }
        return PlaybookTemplate(text: text, source: path.value, file: full, firstLine: 1)
    }

    private func parseDeploy(_ node: Node?) -> ManifestDeployment {
        guard let text = reader.string(node, "deploy") else { return .apply }
        guard let deploy = ManifestDeployment(rawValue: text.value) else {
            reader.error("deploy must be 'apply' or 'auto-deploy', found '\(text.value)'", at: text.location)
            return .apply
        }
        return deploy
    }

    /// `wait: 2m` (also `90s`, `1h`), `wait: false` to not wait; default 3 minutes.
    private func parseWait(_ node: Node?) -> Duration? {
        guard let node else { return Self.defaultWait }
        if node.tagName == .bool, node.bool == false { return nil }
        guard let text = reader.string(node, "wait"), let duration = Self.duration(text.value) else {
            reader.error("wait must be a duration like 90s, 3m or 1h, or false", at: node)
            return Self.defaultWait
        }
        return duration
    }

    private func parseWhen(_ node: Node) -> Role? {
        guard let fields = reader.fields(node, in: "when", allowed: Self.whenKeys, required: ["role"]),
            let text = reader.string(fields["role"], "when.role")
        else { return nil }
        guard let role = Role(rawValue: text.value) else {
            reader.error("when.role must be server or agent, found '\(text.value)'", at: text.location)
            return nil
        }
        return role
    }

    static func duration(_ text: String) -> Duration? {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600]
        guard let unit = text.last.flatMap({ units[$0] }), let value = Int64(text.dropLast()), value > 0 else { return nil }
        return .seconds(value * unit)
    }

    /// "Store labels" → "store-labels": path-safe and stable, for unit ids.
    static func slug(_ name: String) -> String {
        let mapped = name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return String(mapped).split(separator: "-").joined(separator: "-")
    }
}
