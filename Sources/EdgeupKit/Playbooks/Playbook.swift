/// A playbook as written in `playbooks/NAME.yaml`: defaults for its values and an ordered list of
/// steps. Templates are kept as text with their location; `PlaybookRenderer` renders them per store.
public struct Playbook: Sendable, Hashable {
    public var name: String
    /// The file it was read from, as shown in messages.
    public var file: String
    public var description: String?
    /// Defaults for `{{ values.… }}`; the inventory's `values` override them key by key.
    public var values: [ConfigEntry]
    public var steps: [PlaybookStep]

    public init(name: String, file: String, description: String? = nil, values: [ConfigEntry] = [], steps: [PlaybookStep]) {
        self.name = name
        self.file = file
        self.description = description
        self.values = values
        self.steps = steps
    }
}

/// One step of a playbook: manifests through the cluster, files onto hosts, or commands on hosts.
public struct PlaybookStep: Sendable, Hashable {
    public var name: String
    /// A short, stable, path-safe form of the name; part of every unit id.
    public var slug: String
    public var action: Action
    /// Which hosts a `files` or `commands` step runs on (manifests go through the cluster).
    public var role: Role?
    public var location: SourceLocation

    public enum Action: Sendable, Hashable {
        case manifests([PlaybookTemplate], deploy: ManifestDeployment, wait: Duration?)
        case files([PlaybookFile])
        case commands([PlaybookTemplate])
    }

    public init(name: String, slug: String, action: Action, role: Role? = nil, location: SourceLocation) {
        self.name = name
        self.slug = slug
        self.action = action
        self.role = role
        self.location = location
    }
}

/// How manifests reach the cluster.
public enum ManifestDeployment: String, Sendable, Hashable, Codable {
    /// `k3s kubectl apply --server-side` on the first server, then `rollout status` for workloads.
    case apply
    /// A file in k3s's auto-deploy folder on the first server; k3s applies it itself.
    case autoDeploy = "auto-deploy"
}

/// A file a `files` step writes to hosts.
public struct PlaybookFile: Sendable, Hashable {
    /// Absolute path on the host (itself a template).
    public var path: PlaybookTemplate
    public var content: PlaybookTemplate
    public var mode: UInt16

    public init(path: PlaybookTemplate, content: PlaybookTemplate, mode: UInt16) {
        self.path = path
        self.content = content
        self.mode = mode
    }
}

/// Template text and where its first line sits in a file, so render and YAML errors point at the
/// line the user wrote.
public struct PlaybookTemplate: Sendable, Hashable {
    public var text: String
    /// What the template is called in unit ids and messages: a file name, `inline-1`, `command-2`.
    public var source: String
    /// The file holding the text, and the line its first line is on.
    public var file: String
    public var firstLine: Int
    /// Column of the text on its first line (for single-line values).
    public var firstColumn: Int
    /// Spaces before every line in the file (a block scalar's indentation).
    public var indent: Int

    public init(text: String, source: String, file: String, firstLine: Int, firstColumn: Int = 1, indent: Int = 0) {
        self.text = text
        self.source = source
        self.file = file
        self.firstLine = firstLine
        self.firstColumn = firstColumn
        self.indent = indent
    }

    /// Where line `line`, column `column` (1-based) of the text are in its file.
    public func location(line: Int, column: Int) -> SourceLocation {
        SourceLocation(
            file: file, line: firstLine + line - 1, column: indent + (line == 1 ? firstColumn + column - 1 : column))
    }
}
