/// The inventory as written, before defaults are applied: every value keeps its location so the
/// resolver and validator can point at the exact line. Internal: callers see `Inventory`.
struct RawSSH {
    var user: Located<String>?
    var port: Located<Int>?
    var identityFile: Located<String>?
    var knownHostsFile: Located<String>?
    var hostKeyPolicy: Located<String>?
    var sudo: Located<Bool>?
    var transport: Located<String>?
    var passphraseEnv: Located<String>?
    var sudoPasswordEnv: Located<String>?
    var useAgent: Located<Bool>?
    var connectTimeout: Located<Int>?
    var commandTimeout: Located<Int>?

    /// `overlay`'s values win where set: host over store over defaults.
    func overlaid(with overlay: RawSSH?) -> RawSSH {
        guard let overlay else { return self }
        return RawSSH(
            user: overlay.user ?? user,
            port: overlay.port ?? port,
            identityFile: overlay.identityFile ?? identityFile,
            knownHostsFile: overlay.knownHostsFile ?? knownHostsFile,
            hostKeyPolicy: overlay.hostKeyPolicy ?? hostKeyPolicy,
            sudo: overlay.sudo ?? sudo,
            transport: overlay.transport ?? transport,
            passphraseEnv: overlay.passphraseEnv ?? passphraseEnv,
            sudoPasswordEnv: overlay.sudoPasswordEnv ?? sudoPasswordEnv,
            useAgent: overlay.useAgent ?? useAgent,
            connectTimeout: overlay.connectTimeout ?? connectTimeout,
            commandTimeout: overlay.commandTimeout ?? commandTimeout)
    }
}

enum RawArtifact {
    case single(Located<String>)
    case perArchitecture([(arch: Located<String>, path: Located<String>)])
}

struct RawK3s {
    var version: Located<String>?
    var channel: Located<String>?
    var binary: RawArtifact?
    var binaryLocation: SourceLocation?
    /// One or more tarballs, each one file or one per architecture.
    var airgapImages: [RawArtifact]?
    var installScriptURL: Located<String>?
    var certificateRenewalDays: Located<Int>?
    var config: Located<[ConfigEntry]>?
    /// Where each `config` key given as `!env NAME` wrote it (for "variable not set" errors).
    var secretLocations: [String: SourceLocation] = [:]
    /// registries.yaml's document (`k3s.registries`), credentials as `!env` names.
    var registries: Located<[ConfigEntry]>?
    /// Where each `!env` variable of `registries` is read.
    var registrySecretLocations: [String: SourceLocation] = [:]

    func overlaid(with overlay: RawK3s?) -> RawK3s {
        guard let overlay else { return self }
        var result = self
        // version and channel exclude each other: a store choosing one drops the default's other.
        if overlay.version != nil || overlay.channel != nil {
            result.version = overlay.version
            result.channel = overlay.channel
        }
        if let binary = overlay.binary {
            result.binary = binary
            result.binaryLocation = overlay.binaryLocation
        }
        result.airgapImages = overlay.airgapImages ?? airgapImages
        result.installScriptURL = overlay.installScriptURL ?? installScriptURL
        result.certificateRenewalDays = overlay.certificateRenewalDays ?? certificateRenewalDays
        if let config = overlay.config {
            let merged = ConfigValue.merge(self.config?.value ?? [], config.value)
            result.config = Located(value: merged, location: config.location)
            result.secretLocations.merge(overlay.secretLocations) { $1 }
        }
        if let registries = overlay.registries {
            // A store adds registries to the defaults' and replaces the ones it names, key by key.
            let merged = ConfigValue.deepMerge(self.registries?.value ?? [], registries.value)
            result.registries = Located(value: merged, location: registries.location)
            result.registrySecretLocations.merge(overlay.registrySecretLocations) { $1 }
        }
        return result
    }
}

struct RawDefaults {
    var ssh: RawSSH?
    var k3s: RawK3s?
    var playbooks: [Located<String>]?
    var values: Located<[ConfigEntry]>?
    var contextTemplate: Located<String>?
}

struct RawGateway {
    var name: Located<String>?
    var address: Located<String>?
    var ssh: RawSSH?
    var via: Located<String>?
    var location: SourceLocation
}

struct RawHost {
    var name: Located<String>?
    var address: Located<String>?
    var role: Located<String>?
    var ssh: RawSSH?
    var labels: [(key: Located<String>, value: Located<String>)]?
    var taints: [Located<String>]?
    var remove: Located<Bool>?
    var location: SourceLocation
}

struct RawStore {
    var name: Located<String>?
    var labels: [(key: Located<String>, value: Located<String>)]?
    var via: Located<String>?
    var datastore: Located<String>?
    var apiEndpoint: Located<String>?
    var ssh: RawSSH?
    var k3s: RawK3s?
    var playbooks: [Located<String>]?
    var values: Located<[ConfigEntry]>?
    var context: Located<String>?
    var protected: Located<Bool>?
    var hosts: [RawHost]
    var location: SourceLocation
}

struct RawInventoryFile {
    /// The path as the user gave it (shown in messages).
    var path: String
    var defaults: RawDefaults?
    var gateways: [RawGateway]
    var stores: [RawStore]
}
