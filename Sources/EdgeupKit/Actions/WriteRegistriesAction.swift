/// Writes registries.yaml (0600: it holds registry credentials) before k3s first starts — k3s reads
/// it only at start, so a node that started without it would pull its first images from the public
/// registries — and restarts a running node when it changed.
struct WriteRegistriesAction: HostAction {
    let kind = ActionKind.writeRegistries

    func need(_ context: HostPlanContext) -> ActionNeed? {
        guard let registries = context.desired.registries,
              context.facts.k3s.registriesFingerprint != registries.fingerprint else { return nil }
        let names = registries.registryNames.joined(separator: ", ")
        let what = context.facts.k3s.registriesFingerprint == nil ? "missing" : "differs"
        return ActionNeed("registries.yaml \(what) (\(names.isEmpty ? "no registries" : names))",
                          restartCause: context.installed ? "registries.yaml" : nil)
    }

    func perform(on node: HostOperator, cluster: ClusterAccess) async throws -> String? {
        guard let registries = node.desired.registries else { return nil }
        try await node.privileged(["mkdir", "-p", node.files.configDirectory], step: .action(.writeRegistries))
        try await node.upload(data: registries.rendered, to: node.files.registries, mode: 0o600, step: .action(.writeRegistries))
        return nil
    }
}
