import EdgeCore
import Foundation
import Mustache
import Yams

/// Renders every selected store's playbooks before anything is touched: templates with the store's
/// values, then the manifests checked as Kubernetes YAML. Local and pure apart from reading the
/// environment for `!env` values, so one bad template fails the run before the first SSH connection.
public struct PlaybookRenderer {
    public var library: PlaybookLibrary
    public var environment: [String: String]
    private var compiled: [PlaybookTemplate: MustacheTemplate] = [:]

    public init(library: PlaybookLibrary, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.library = library
        self.environment = environment
    }

    /// Each store's units in apply order, or every problem found (each reported once, naming the
    /// first store it was found for and how many more share it).
    public mutating func render(_ stores: [Store]) -> Result<[StorePlaybooks], DiagnosticsError> {
        var results: [StorePlaybooks] = []
        var problems: [String: (diagnostic: Diagnostic, store: String, count: Int)] = [:]
        var order: [String] = []
        for store in stores {
            var units: [PlaybookUnit] = []
            for name in store.playbooks {
                guard let playbook = library.playbooks[name] else { continue }
                for problem in render(playbook, for: store, into: &units) + Self.collisions(units, playbook) {
                    let key = "\(problem.location?.description ?? "") \(problem.message)"
                    if problems[key] == nil {
                        order.append(key)
                        problems[key] = (problem, store.name, 0)
                    }
                    problems[key]!.count += 1
                }
            }
            results.append(StorePlaybooks(store: store.name, units: units))
        }
        guard order.isEmpty else {
            return .failure(DiagnosticsError(order.map { key in
                var (diagnostic, store, count) = problems[key]!
                diagnostic.message += " (store \(store)\(count > 1 ? " and \(count - 1) more" : ""))"
                return diagnostic
            }))
        }
        return .success(results)
    }

    private mutating func render(_ playbook: Playbook, for store: Store, into units: inout [PlaybookUnit]) -> [Diagnostic] {
        let values = ConfigValue.deepMerge(playbook.values, store.values.mapEntries ?? [])
        let base: [String: TemplateInput] = [
            "store": Self.input(store), "values": .value(.map(values)), "playbook": .map(["name": .text(playbook.name)]),
        ]
        let storeScope = TemplateScope(entries: base, environment: environment)
        var problems: [Diagnostic] = []
        for step in playbook.steps {
            let prefix = "\(playbook.name)/\(step.slug)/"
            switch step.action {
            case let .manifests(templates, deploy, wait):
                for template in templates {
                    guard let rendered = render(template, in: storeScope, problems: &problems) else { continue }
                    guard let workloads = Self.checkManifest(rendered.text, template, problems: &problems) else { continue }
                    units.append(unit(
                        prefix + Self.pathSafe(template.source), playbook, step,
                        .manifest(deploy: deploy, wait: wait, workloads: workloads), host: nil, rendered))
                }
            case let .files(files):
                for host in store.hosts where step.role == nil || step.role == host.role {
                    let scope = TemplateScope(entries: base.merging(["host": Self.input(host)]) { $1 }, environment: environment)
                    for file in files {
                        guard let path = render(file.path, in: scope, problems: &problems),
                            let content = render(file.content, in: scope, problems: &problems)
                        else { continue }
                        let destination: String
                        let pathLocation = file.path.location(line: 1, column: 1)
                        switch PlaybookFilePath.check(path.text) {
                        case let .success(normal) where !path.sensitive:
                            destination = normal
                        case .success:
                            problems.append(.error(
                                "file path '\(file.path.text)' uses a value read with !env", at: pathLocation,
                                hint: "a path names the unit in plans and logs; keep secrets in the content"))
                            continue
                        case let .failure(problem):
                            problems.append(.error(problem.message, at: pathLocation, hint: problem.hint))
                            continue
                        }
                        units.append(unit(
                            prefix + Self.pathSafe(destination), playbook, step, .file(path: destination, mode: file.mode),
                            host: host.name, content))
                    }
                }
            case let .commands(commands):
                for host in store.hosts where step.role == nil || step.role == host.role {
                    let scope = TemplateScope(entries: base.merging(["host": Self.input(host)]) { $1 }, environment: environment)
                    for command in commands {
                        guard let rendered = render(command, in: scope, problems: &problems) else { continue }
                        units.append(unit(prefix + command.source, playbook, step, .command, host: host.name, rendered))
                    }
                }
            }
        }
        return problems
    }

    /// Two units with one record key on one host would overwrite each other's record (the same
    /// manifest listed twice, two playbooks writing one file): each must be applied by one unit.
    static func collisions(_ units: [PlaybookUnit], _ playbook: Playbook) -> [Diagnostic] {
        var seen: [String: PlaybookUnit] = [:]
        var problems: [Diagnostic] = []
        for unit in units {
            let key = "\(unit.host ?? "") \(unit.recordKey)"
            guard let other = seen[key] else {
                seen[key] = unit
                continue
            }
            guard unit.playbook == playbook.name else { continue }
            let step = playbook.steps.first { $0.name == unit.step }
            let what = unit.recordKey.hasPrefix(PlaybookRecord.filePrefix) ? "writes \(unit.recordKey.dropFirst(PlaybookRecord.filePrefix.count))" : "is \(unit.id)"
            problems.append(.error(
                "step '\(unit.step)' \(what)\(unit.host.map { " on \($0)" } ?? ""), as \(other.id) already does",
                at: step?.location, hint: "a file or manifest belongs to one step of one playbook"))
        }
        return problems
    }

    private func unit(
        _ id: String, _ playbook: Playbook, _ step: PlaybookStep, _ kind: PlaybookUnit.Kind, host: String?,
        _ rendered: TemplateEngine.Rendered
    ) -> PlaybookUnit {
        PlaybookUnit(
            id: id, playbook: playbook.name, step: step.name, kind: kind, host: host, content: rendered.text,
            sha256: SHA256Digest.hex(Data(rendered.text.utf8)), sensitive: rendered.sensitive)
    }

    private mutating func render(_ template: PlaybookTemplate, in scope: TemplateScope, problems: inout [Diagnostic])
        -> TemplateEngine.Rendered?
    {
        let mustache: MustacheTemplate
        if let cached = compiled[template] {
            mustache = cached
        } else {
            switch TemplateEngine.compile(template) {
            case let .success(result): mustache = result
            case let .failure(error):
                problems += error.diagnostics
                return nil
            }
            compiled[template] = mustache
        }
        switch TemplateEngine.render(mustache, template, in: scope) {
        case let .success(rendered): return rendered
        case let .failure(error):
            problems += error.diagnostics
            return nil
        }
    }

    // MARK: manifests

    static let workloadKinds: Set<String> = ["Deployment", "StatefulSet", "DaemonSet"]

    /// Every document must be a Kubernetes object (apiVersion, kind, metadata.name); returns the
    /// workloads to wait for. Line numbers are the rendered text's, which are the template's as
    /// long as no value spans lines.
    static func checkManifest(_ text: String, _ template: PlaybookTemplate, problems: inout [Diagnostic]) -> [Workload]? {
        var documents: [Node] = []
        do {
            // The sequence stops at a parse error and keeps it rather than throwing.
            var sequence = try Yams.compose_all(yaml: text)
            while let document = sequence.next() { documents.append(document) }
            if let error = sequence.error { throw error }
        } catch {
            let problem = YAMLProblem(error)
            problems.append(.error(
                "\(problem.message) in \(template.source) after rendering",
                at: template.location(line: problem.line, column: problem.column),
                hint: problem.hint { template.location(line: $0, column: $1) }))
            return nil
        }
        var workloads: [Workload] = []
        var failed = false
        for document in documents {
            let line = document.mark?.line ?? 1
            guard case .mapping = document else {
                if case let .scalar(scalar) = document, scalar.string.isEmpty || document.tagName == .null { continue }
                problems.append(.error(
                    "a manifest document must be a Kubernetes object (a mapping)", at: template.location(line: line, column: 1)))
                failed = true
                continue
            }
            let kind = document["kind"]?.string
            let metadata = document["metadata"]
            let missing = [
                ("apiVersion", document["apiVersion"]?.string), ("kind", kind), ("metadata.name", metadata?["name"]?.string),
            ].filter { $0.1?.isEmpty ?? true }.map(\.0)
            guard missing.isEmpty else {
                problems.append(.error(
                    "a manifest document has no \(missing.joined(separator: ", ")) in \(template.source)",
                    at: template.location(line: line, column: 1)))
                failed = true
                continue
            }
            if let kind, workloadKinds.contains(kind), let name = metadata?["name"]?.string {
                workloads.append(Workload(kind: kind, namespace: metadata?["namespace"]?.string ?? "default", name: name))
            }
        }
        return failed ? nil : workloads
    }

    // MARK: context

    static func input(_ store: Store) -> TemplateInput {
        let labels = store.labels.keys.sorted().map { key in
            TemplateInput.map(["key": .text(key), "value": .text(store.labels[key]!)])
        }
        return .map([
            "name": .text(store.name),
            "context": .text(store.context),
            "datastore": .text(store.datastore.rawValue),
            "apiEndpoint": .text(store.apiEndpoint ?? store.firstServer?.address ?? ""),
            "labels": .value(.map(store.labels.keys.sorted().map { ConfigEntry($0, .string(store.labels[$0]!)) })),
            "labelList": .list(labels),
            "hosts": .list(store.hosts.map(input)),
            "servers": .list(store.servers.map(input)),
            "agents": .list(store.agents.map(input)),
            "firstServer": store.firstServer.map(input) ?? .map([:]),
        ])
    }

    static func input(_ host: Host) -> TemplateInput {
        .map([
            "name": .text(host.name),
            "nodeName": .text(host.nodeName ?? host.name),
            "address": .text(host.address),
            "role": .text(host.role.rawValue),
            "isServer": .value(.bool(host.role == .server)),
            "isAgent": .value(.bool(host.role == .agent)),
            "labels": .value(.map(host.labels.keys.sorted().map { ConfigEntry($0, .string(host.labels[$0]!)) })),
        ])
    }

    /// `/etc/rancher/k3s/registries.yaml` → `etc-rancher-k3s-registries.yaml`.
    static func pathSafe(_ text: String) -> String {
        text.split(separator: "/").joined(separator: "-").map { $0.isWhitespace ? "-" : $0 }.reduce(into: "") { $0.append($1) }
    }
}

extension PlaybookRenderer {
    /// Finds, parses and renders the playbooks of `stores`: the one call a command makes before
    /// touching any host. Keyed by store name.
    public static func prepare(
        _ stores: [Store], searchPath: [String], environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Result<[String: StorePlaybooks], DiagnosticsError> {
        let (library, problems) = PlaybookLibrary.load(for: stores, searchPath: searchPath)
        guard problems.isEmpty else { return .failure(DiagnosticsError(problems)) }
        var renderer = PlaybookRenderer(library: library, environment: environment)
        return renderer.render(stores).map { rendered in
            Dictionary(uniqueKeysWithValues: rendered.map { ($0.store, $0) })
        }
    }
}
