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
        let chain = host.gateways.compactMap(inventory.gateway(named:))
        let gateways = chain.indices.map { index in
            hop(label: chain[index].name, address: chain[index].address, ssh: chain[index].ssh, route: chain[..<index].map(\.name))
        }
        let hostHop = hop(label: "\(store.name)/\(host.name)", address: host.address, ssh: host.ssh, route: chain.map(\.name))
        return SSHTarget(host: hostHop, gateways: gateways, uploadGroup: store.name)
    }

    /// The known_hosts name of a hop reached through `route` (gateway names, outermost first):
    /// `bastion-eu/gw-042/192.168.50.10`. Stores behind different gateways reuse LAN addresses, so
    /// the address alone cannot tell their hosts apart. A direct hop keeps the plain OpenSSH name
    /// (nil), so existing known_hosts files and plain `ssh` keep working.
    public static func hostKeyAlias(route: [String], address: String, port: Int) -> String? {
        guard !route.isEmpty else { return nil }
        return (route + [SSHHop.openSSHName(address: address, port: port)]).joined(separator: "/")
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

    private func hop(label: String, address: String, ssh: SSHSettings, route: [String]) -> SSHHop {
        SSHHop(
            label: label, address: address, port: ssh.port, user: ssh.user,
            identityFiles: ssh.identityFile.map { [$0] } ?? defaultIdentityFiles,
            passphraseEnv: ssh.passphraseEnv, useAgent: ssh.useAgent, knownHostsFile: ssh.knownHostsFile,
            hostKeyPolicy: ssh.hostKeyPolicy, transport: ssh.transport,
            hostKeyAlias: Self.hostKeyAlias(route: route, address: address, port: ssh.port))
    }

    /// OpenSSH's usual keys that exist, modern first (k3sup's id_rsa-only default bit ed25519 users).
    private var defaultIdentityFiles: [String] {
        ["id_ed25519", "id_ecdsa", "id_rsa"].map { "\(homeDirectory)/.ssh/\($0)" }
            .filter { FileManager.default.fileExists(atPath: $0) }
    }
}
