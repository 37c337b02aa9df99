import EdgeSSH
import EdgeupKit
import Foundation

extension FleetSession {
    /// The session a CLI command uses: environment and home from the process, the connect timeout
    /// the selected hosts ask for, passphrases from the terminal when one is attached.
    init(inventory: Inventory, hosts: [StoreHost]) {
        let access = HostAccess(
            inventory: inventory, environment: ProcessInfo.processInfo.environment, homeDirectory: NSHomeDirectory())
        let connectTimeout = hosts.map(\.host.ssh.connectTimeoutSeconds).max() ?? 10
        self.init(access: access, options: SSHClientOptions(connectTimeout: .seconds(connectTimeout)))
    }
}
