import Foundation

/// The outcome of loading inventories: the resolved fleet when there are no errors, and every
/// diagnostic (errors and warnings) sorted by location.
public struct InventoryLoadResult: Sendable {
    public var inventory: Inventory?
    public var diagnostics: [Diagnostic]

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }

    /// The inventory, or a `DiagnosticsError` carrying every problem.
    public func get() throws(DiagnosticsError) -> Inventory {
        guard let inventory, errors.isEmpty else { throw DiagnosticsError(diagnostics) }
        return inventory
    }
}

/// Loads, merges, resolves and validates inventory files. Reads only local files: no network.
public struct InventoryLoader: Sendable {
    private let paths: PathResolver
    private let fileExists: @Sendable (String) -> Bool
    private let environment: [String: String]

    /// `environment` gives the values of `k3s.config` secrets written `!env NAME`.
    public init(
        homeDirectory: String = NSHomeDirectory(),
        currentDirectory: String = FileManager.default.currentDirectoryPath,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        fileExists: @escaping @Sendable (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
    ) {
        paths = PathResolver(homeDirectory: homeDirectory, currentDirectory: currentDirectory)
        self.environment = environment
        self.fileExists = fileExists
    }

    /// Loads inventory files from disk, in the order given.
    public func load(paths files: [String]) -> InventoryLoadResult {
        var sources: [(path: String, text: String)] = []
        var diagnostics = Diagnostics()
        if files.isEmpty {
            diagnostics.error("no inventory file given", at: nil, hint: "pass one or more inventory YAML files")
        }
        for file in files {
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: paths.absolute(file)))
                guard let text = String(data: data, encoding: .utf8) else {
                    diagnostics.error("\(file) is not UTF-8 text", at: SourceLocation(file: file, line: 1, column: 1))
                    continue
                }
                sources.append((file, text))
            } catch {
                diagnostics.error(
                    "cannot read inventory \(file): \(Self.reason(error, path: paths.absolute(file)))", at: nil,
                    hint: "check the path and that the file is readable")
            }
        }
        var result = load(sources: sources)
        result.diagnostics = diagnostics.items + result.diagnostics
        if diagnostics.hasErrors { result.inventory = nil }
        return result
    }

    /// Loads inventories from text; `path` names each source in messages and anchors relative paths.
    public func load(sources: [(path: String, text: String)]) -> InventoryLoadResult {
        var diagnostics = Diagnostics()
        var files: [RawInventoryFile] = []
        for source in sources {
            let parser = InventoryParser(path: source.path)
            files.append(parser.parse(source.text))
            for item in parser.diagnostics.items { diagnostics.append(item) }
        }
        var resolver = InventoryResolver(paths: paths, environment: environment)
        let inventory = resolver.resolve(files)
        for item in resolver.diagnostics.items { diagnostics.append(item) }
        for item in checkLocalArtifacts(inventory) { diagnostics.append(item) }
        return InventoryLoadResult(inventory: diagnostics.hasErrors ? nil : inventory, diagnostics: diagnostics.sorted)
    }

    /// Air-gap files are checked now (a warning: CI may validate without the bundles present);
    /// `apply` refuses to start without them.
    private func checkLocalArtifacts(_ inventory: Inventory) -> [Diagnostic] {
        var seen = Set<String>()
        var result: [Diagnostic] = []
        for store in inventory.stores {
            let artifacts = [store.k3s.binary].compactMap { $0 } + store.k3s.airgapImages
            for path in artifacts.flatMap(\.allPaths) where seen.insert(path).inserted && !fileExists(path) {
                result.append(.warning(
                    "k3s file \(path) does not exist (store '\(store.name)' and others using it)",
                    at: store.location, hint: "apply needs it; build or download the bundle first"))
            }
        }
        return result
    }

    private static func reason(_ error: any Error, path: String) -> String {
        if !FileManager.default.fileExists(atPath: path) { return "no such file" }
        return (error as NSError).localizedDescription
    }
}
