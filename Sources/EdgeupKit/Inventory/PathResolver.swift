import Foundation

/// Expands `~` and makes relative paths absolute against the folder of the inventory file that
/// wrote them, so an inventory means the same thing from any working directory.
struct PathResolver: Sendable {
    var homeDirectory: String
    var currentDirectory: String

    func resolve(_ path: String, writtenIn file: String) -> String {
        if path == "~" { return homeDirectory }
        if path.hasPrefix("~/") { return normalize(homeDirectory + "/" + path.dropFirst(2)) }
        if path.hasPrefix("/") { return normalize(path) }
        return normalize(directory(of: file) + "/" + path)
    }

    func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? normalize(path) : normalize(currentDirectory + "/" + path)
    }

    private func directory(of file: String) -> String {
        let absoluteFile = absolute(file)
        guard let slash = absoluteFile.lastIndex(of: "/") else { return currentDirectory }
        let folder = String(absoluteFile[..<slash])
        return folder.isEmpty ? "/" : folder
    }

    /// Removes `.` and `..` segments lexically (no filesystem access: validate stays offline and pure).
    private func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}
