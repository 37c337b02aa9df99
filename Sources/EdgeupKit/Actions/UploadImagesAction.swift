import Foundation

/// Copies the air-gap image tarballs where the distribution imports them at start. A tarball
/// counts as present only when its SHA-256 is the local file's: the host keeps a record of what
/// edgeup verified (`ImagesRecord`), so plans compare checksums without hashing hundreds of
/// megabytes on every probe, and a file changed behind edgeup's back (another size or mtime) no
/// longer counts as verified.
struct UploadImagesAction: HostAction {
    let kind = ActionKind.uploadImages

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard case let .upload(_, images) = context.desired.mode else { return nil }
        let due = images.filter { context.facts.k3s.airgapImageSHA256?[Self.fileName($0)] != $0.sha256 }
        let reasons = due.map { image -> String in
            let name = Self.fileName(image)
            let verified = context.facts.k3s.airgapImageSHA256?[name]
            if context.facts.k3s.airgapImages[name] == nil { return "\(name) missing (\(ByteText.size(image.size)))" }
            if verified == nil { return "\(name) not verified (checked by SHA-256, sent only if it differs)" }
            return "\(name) differs (\(ByteText.size(image.size)))"
        }
        return reasons.isEmpty ? nil : ActionNeed(reasons.joined(separator: "; "), bytes: due.map(\.size).reduce(0, +))
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        guard case let .upload(_, images) = node.desired.mode else { return nil }
        let folder = node.files.airgapImages
        try await node.privileged(["mkdir", "-p", folder], step: .action(.uploadImages))
        for image in images {
            let target = folder + "/" + Self.fileName(image)
            try await node.upload(artifact: image, to: target, mode: 0o644, step: .action(.uploadImages))
            try await node.privileged(script: ImagesRecord.recordScript, [ImagesRecord.path, target, image.sha256], step: .action(.uploadImages))
        }
        return nil
    }

    static func fileName(_ image: LocalArtifact) -> String {
        URL(fileURLWithPath: image.path).lastPathComponent
    }
}

/// edgeup's record of the image tarballs it put on a host: `<sha256> <size> <mtime> <name>` per
/// line, written after the upload was verified, read by the facts probe.
enum ImagesRecord {
    static let path = EdgeupHostFolder.path + "/airgap-images.sha256"

    /// `$1` the record, `$2` the tarball, `$3` its SHA-256 (the upload just verified it): replaces
    /// the tarball's line, atomically.
    static let recordScript: StaticString = """
        set -e
        mkdir -p -- "${1%/*}"
        name=${2##*/}
        line="$3 $(stat -c '%s %Y' -- "$2") $name"
        { [ -f "$1" ] && awk -v n="$name" '$4 != n' "$1"; echo "$line"; } > "$1.tmp"
        mv -f -- "$1.tmp" "$1"
        """
}
