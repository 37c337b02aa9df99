import Foundation

/// Copies the air-gap image tarball where the distribution imports it at start.
struct UploadImagesAction: HostAction {
    let kind = ActionKind.uploadImages

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard case let .upload(_, images?) = context.desired.mode else { return nil }
        let name = Self.fileName(images)
        guard context.facts.k3s.airgapImages[name] != images.size else { return nil }
        return ActionNeed("\(name) missing or different")
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        guard case let .upload(_, images?) = node.desired.mode else { return nil }
        let folder = node.files.airgapImages
        try await node.privileged(["mkdir", "-p", folder], step: .action(.uploadImages))
        try await node.upload(file: images.path, to: folder + "/" + Self.fileName(images), mode: 0o644, step: .action(.uploadImages))
        return nil
    }

    private static func fileName(_ images: LocalArtifact) -> String {
        URL(fileURLWithPath: images.path).lastPathComponent
    }
}
