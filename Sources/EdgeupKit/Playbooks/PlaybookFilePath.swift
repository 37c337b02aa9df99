import Foundation

/// Where a playbook's `files` entry may write, checked on the rendered path of every host. Files
/// are written as root, so a path that climbs with `..` or lands on what edgeup itself manages
/// (config.yaml, tokens, the k3s binary, the service, its records) would let a playbook — or a
/// value pasted into its path — undo what the inventory says or take over the node.
enum PlaybookFilePath {
    struct Problem: Error {
        var message: String
        var hint: String
    }

    /// Paths edgeup owns on every host: k3s's (from `K3sPaths`) and edgeup's own state folder.
    static var owned: [String] {
        K3sPaths.ownedByEdgeup + [(PlaybookRecord.host as NSString).deletingLastPathComponent]
    }

    /// The path with `.` and repeated slashes removed (what the unit writes and records), or why
    /// it may not be written.
    static func check(_ path: String) -> Result<String, Problem> {
        guard path.hasPrefix("/") else {
            return .failure(Problem(
                message: "file path '\(path)' is not absolute",
                hint: "write the full path on the host, like /etc/app/app.conf"))
        }
        guard !path.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true }) else {
            return .failure(Problem(
                message: "file path '\(path)' contains spaces or control characters",
                hint: "use a path without spaces; it also names the unit"))
        }
        let components = path.split(separator: "/").filter { $0 != "." }
        guard !components.contains("..") else {
            return .failure(Problem(
                message: "file path '\(path)' contains '..'",
                hint: "write the path it means without '..', so what is written is what the playbook shows"))
        }
        guard !components.isEmpty else {
            return .failure(Problem(message: "file path '\(path)' names no file", hint: "write the full path of a file"))
        }
        let normal = "/" + components.joined(separator: "/")
        let clash: String?
        if let same = owned.first(where: { normal == $0 }) ?? (normal.hasPrefix(K3sPaths.ownedPrefix) ? normal : nil) {
            clash = "\(same) is managed by edgeup"
        } else if let folder = owned.first(where: { normal.hasPrefix($0 + "/") }) {
            clash = "it is inside \(folder), which edgeup manages"
        } else if let inside = owned.first(where: { $0.hasPrefix(normal + "/") }) {
            clash = "it would replace the folder holding \(inside), which edgeup manages"
        } else {
            clash = nil
        }
        if let clash {
            return .failure(Problem(
                message: "file path '\(path)' may not be written: \(clash)",
                hint: "edgeup writes k3s's configuration, tokens, binary, service and its own records itself; "
                    + "set k3s settings in the inventory's k3s.config, and write playbook files elsewhere"))
        }
        return .success(normal)
    }
}
