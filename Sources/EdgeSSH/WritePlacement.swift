/// Where a remote write puts its temp file: beside the target (same filesystem, so the final
/// rename is atomic), under a dot-name only edgeup uses, so a later write of the same target can
/// find and remove what a killed one left.
struct WritePlacement: Equatable {
    /// The target's folder ("." for a relative name), fsynced after the rename.
    let folder: String
    /// Every temp file of this target starts with this (a path: folder included).
    let leftovers: String
    let temp: String

    init(_ target: String, hop: String, suffix: String = String(UInt64.random(in: .min ... .max), radix: 36)) throws(SSHError) {
        let slash = target.lastIndex(of: "/")
        let name = slash.map { String(target[target.index(after: $0)...]) } ?? target
        guard !name.isEmpty, name != ".", name != ".." else {
            throw SSHError(.transfer, hop: hop, step: .upload, "cannot write \(target): it names a folder, not a file",
                           hint: "give the full path of the file to write")
        }
        let prefix = slash.map { String(target[...$0]) } ?? ""
        folder = prefix.isEmpty ? "." : prefix == "/" ? "/" : String(prefix.dropLast())
        // Bounded, so the temp name stays within NAME_MAX (255 bytes) for any target name.
        leftovers = prefix + ".edgeup-write." + String(decoding: name.utf8.prefix(100), as: UTF8.self) + "."
        temp = leftovers + suffix
    }
}
