import EdgeSSH
import Foundation

/// How to reach and act on inventory hosts with the SSH layer: targets (with their gateway chains)
/// and sudo modes, from resolved inventory settings and the caller's environment.
public struct HostAccess: Sendable {
    public var inventory: Inventory
    public var environment: [String: String]
    public var homeDirectory: String

    public init(inventory: Inventory, environment: [String: String], homeDirectory: String) {
        self.inventory = inventory
        self.environment = environment
        self.homeDirectory = homeDirectory
    }

    public func target(for host: Host, in store: Store) -> SSHTarget {
        let gateways = host.gateways.compactMap(inventory.gateway(named:)).map {
            hop(label: $0.name, address: $0.address, ssh: $0.ssh)
        }
        return SSHTarget(host: hop(label: "\(store.name)/\(host.name)", address: host.address, ssh: host.ssh), gateways: gateways)
    }

    /// The sudo mode for a host; throws when a password is configured but its variable is unset.
    public func sudo(for host: Host, in store: Store) throws(SSHError) -> SudoMode {
        guard host.ssh.sudo else { return .none }
        guard let variable = host.ssh.sudoPasswordEnv else { return .passwordless }
        guard let password = environment[variable], !password.isEmpty else {
            throw SSHError(
                .sudo, hop: "\(store.name)/\(host.name)", step: .exec,
                "the sudo password variable \(variable) is not set",
                hint: "export \(variable) before running edgeup, or configure passwordless sudo")
        }
        return .password(Secret(password))
    }

    private func hop(label: String, address: String, ssh: SSHSettings) -> SSHHop {
        SSHHop(
            label: label, address: address, port: ssh.port, user: ssh.user,
            identityFiles: ssh.identityFile.map { [$0] } ?? defaultIdentityFiles,
            passphraseEnv: ssh.passphraseEnv, useAgent: ssh.useAgent, knownHostsFile: ssh.knownHostsFile,
            hostKeyPolicy: ssh.hostKeyPolicy, transport: ssh.transport)
    }

    /// OpenSSH's usual keys that exist, modern first (k3sup's id_rsa-only default bit ed25519 users).
    private var defaultIdentityFiles: [String] {
        ["id_ed25519", "id_ecdsa", "id_rsa"].map { "\(homeDirectory)/.ssh/\($0)" }
            .filter { FileManager.default.fileExists(atPath: $0) }
    }
}
