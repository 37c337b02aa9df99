import EdgeSSH

extension InventoryResolver {
    /// Splits a store's `k3s.config` into what goes to config.yaml and the secrets given as
    /// `!env NAME`, reading each from the operator's environment now, so a missing one stops
    /// every command before any host is touched.
    mutating func resolveSecrets(_ raw: RawK3s) -> (config: [ConfigEntry], secrets: [K3sSecretSetting]) {
        var config: [ConfigEntry] = []
        var secrets: [K3sSecretSetting] = []
        for entry in raw.config?.value ?? [] {
            guard case let .environment(variable) = entry.value else {
                config.append(entry)
                continue
            }
            let location = raw.secretLocations[entry.key] ?? raw.config?.location
            if raw.binary == nil {
                report(
                    "k3s config key '\(entry.key)' reads the environment, which needs k3s.binary", at: location,
                    hint: "edgeup hands secrets to k3s in the service environment file it writes when it installs "
                        + "k3s itself (k3s.binary); with the online installer, the installer writes that file")
                continue
            }
            guard let value = environment[variable], !value.isEmpty else {
                report(
                    "k3s config key '\(entry.key)' reads the environment variable \(variable), which is not set",
                    at: location,
                    hint: "export \(variable) before running edgeup: every command that loads this inventory needs it")
                continue
            }
            guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                report(
                    "the environment variable \(variable) (k3s config key '\(entry.key)') holds a line break or "
                        + "control character", at: location, hint: "k3s takes it as one line in its environment file")
                continue
            }
            if let secret = K3sSecretSetting(flag: entry.key, variable: variable, value: Secret(value)) {
                secrets.append(secret)
            }
        }
        return (config, secrets)
    }

    /// `k3s.registries` with its `!env` credentials read from the operator's environment now, so a
    /// missing one stops every command before any host is touched.
    mutating func resolveRegistries(_ raw: RawK3s) -> RegistriesConfig? {
        guard let document = raw.registries?.value else { return nil }
        var secrets: [String: Secret] = [:]
        for variable in Set(ConfigValue.map(document).environmentNames).sorted() {
            let location = raw.registrySecretLocations[variable] ?? raw.registries?.location
            guard let value = environment[variable], !value.isEmpty else {
                report(
                    "k3s.registries reads the environment variable \(variable), which is not set", at: location,
                    hint: "export \(variable) before running edgeup: every command that loads this inventory needs it")
                continue
            }
            guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                report(
                    "the environment variable \(variable) (k3s.registries) holds a line break or control character",
                    at: location, hint: "a registry credential is one line")
                continue
            }
            secrets[variable] = Secret(value)
        }
        return RegistriesConfig(document: document, secrets: secrets)
    }

    /// Reports once: every store built on the same defaults shares their secrets and their problems.
    private mutating func report(_ message: String, at location: SourceLocation?, hint: String) {
        guard reportedSecrets.insert("\(location?.description ?? "") \(message)").inserted else { return }
        diagnostics.error(message, at: location, hint: hint)
    }
}
