import Foundation

/// The playbooks an inventory names, found by name in a search path (`--playbooks DIR`, then
/// `playbooks/` next to each inventory file, then `./playbooks`, then the installed ones) and parsed once each.
public struct PlaybookLibrary: Sendable {
    public var playbooks: [String: Playbook]
    public var searchPath: [String]

    public init(playbooks: [String: Playbook] = [:], searchPath: [String] = []) {
        self.playbooks = playbooks
        self.searchPath = searchPath
    }

    /// The default search path for these inventory files: explicit folders first, the installed playbooks last.
    public static func searchPath(
        explicit: [String], inventoryFiles: [String], currentDirectory: String, installed: String? = installedDirectory
    ) -> [String] {
        let beside = inventoryFiles.map { file -> String in
            let absolute = file.hasPrefix("/") ? file : (currentDirectory as NSString).appendingPathComponent(file)
            return ((absolute as NSString).deletingLastPathComponent as NSString).appendingPathComponent("playbooks")
        }
        var seen = Set<String>()
        let all = explicit + beside + [(currentDirectory as NSString).appendingPathComponent("playbooks")]
            + (installed.map { [$0] } ?? [])
        return all.map { ($0 as NSString).standardizingPath }.filter { seen.insert($0).inserted }
    }

    /// The playbooks shipped with edgeup, where `make install` and the .deb put them:
    /// `<bindir>/../share/edgeup/playbooks` from the running binary (symlinks followed), so any
    /// PREFIX works without a configured path. Nil when that folder does not exist (a build tree).
    public static var installedDirectory: String? {
        guard let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() else { return nil }
        let folder = executable.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("share/edgeup/playbooks").standardizedFileURL.path
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) && isDirectory.boolValue ? folder : nil
    }

    /// Loads every playbook the stores name; an unknown name is an error at the store's list.
    public static func load(
        for stores: [Store], searchPath: [String],
        readFile: @escaping (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) }
    ) -> (PlaybookLibrary, [Diagnostic]) {
        var library = PlaybookLibrary(searchPath: searchPath)
        var diagnostics = Diagnostics()
        var missing: Set<String> = []
        for store in stores {
            for name in store.playbooks where library.playbooks[name] == nil && !missing.contains(name) {
                guard let (path, text) = find(name, in: searchPath, readFile: readFile) else {
                    missing.insert(name)
                    let available = available(in: searchPath)
                    diagnostics.error(
                        "unknown playbook '\(name)' (store \(store.name))", at: store.playbooksLocation ?? store.location,
                        hint: Suggestions.didYouMean(name, in: available)
                            ?? "looked for \(name).yaml in: \(searchPath.joined(separator: ", "))")
                    continue
                }
                let parser = PlaybookParser(name: name, path: path, readFile: readFile)
                let playbook = parser.parse(text)
                for item in parser.diagnostics.items { diagnostics.append(item) }
                if let playbook, !parser.diagnostics.hasErrors {
                    library.playbooks[name] = playbook
                } else {
                    missing.insert(name)
                }
            }
        }
        return (library, diagnostics.sorted)
    }

    private static func find(_ name: String, in searchPath: [String], readFile: (String) -> String?) -> (String, String)? {
        for directory in searchPath {
            for file in ["\(name).yaml", "\(name).yml"] {
                let path = (directory as NSString).appendingPathComponent(file)
                if let text = readFile(path) { return (path, text) }
            }
        }
        return nil
    }

    private static func available(in searchPath: [String]) -> [String] {
        searchPath.flatMap { directory in
            ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
                .map { ($0 as NSString).deletingPathExtension }
        }
    }
}
