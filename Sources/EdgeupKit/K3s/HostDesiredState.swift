import EdgeCore
import Foundation

/// How k3s gets onto a host.
public enum InstallMode: Sendable, Hashable {
    /// Air gap / local binary: edgeup uploads the binary (and images) and writes the service itself.
    case upload(binary: LocalArtifact, images: [LocalArtifact])
    /// The official installer, run on the host, pinned to a version or following a channel.
    case installer(version: String?, channel: String?, scriptURL: String)
}

/// Everything edgeup wants on one host, derived from the inventory and the host's own facts (its
/// architecture and init system). The planner compares it with facts; execution writes exactly it.
public struct HostDesiredState: Sendable {
    public static let defaultInstallScriptURL = "https://get.k3s.io"

    public var host: Host
    public var mode: InstallMode
    /// The host's service manager, as its facts reported it.
    public var initSystem: InitSystem
    public var config: NodeConfig
    /// registries.yaml; nil: the inventory has none, the file is left alone.
    public var registries: RegistriesConfig?
    /// nil when the installer writes the service (online mode).
    public var service: ServiceFiles?
    /// killall + uninstall scripts, written only in upload mode (the installer writes its own).
    public var scripts: (killall: String, uninstall: String)? {
        guard case .upload = mode else { return nil }
        return (HostScripts.killall, HostScripts.uninstall(role: host.role))
    }

    public var version: K3sVersion?

    public init(host: Host, store: Store, mode: InstallMode, initSystem: InitSystem) {
        self.host = host
        self.mode = mode
        self.initSystem = initSystem
        config = NodeConfig(for: host, in: store)
        registries = store.k3s.registries
        version = store.k3s.version.flatMap { K3sVersion($0) }
        if case .upload = mode {
            service = ServiceFiles(role: host.role, initSystem: initSystem, secrets: store.k3s.secrets)
        }
    }

    public var serviceSHA256: String? {
        service.map { SHA256Digest.hex(Data(($0.unit + $0.environment).utf8)) }
    }

    public var scriptsSHA256: String? {
        scripts.map { SHA256Digest.hex(Data(($0.killall + $0.uninstall).utf8)) }
    }
}
