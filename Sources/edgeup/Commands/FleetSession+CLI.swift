import EdgeSSH
import EdgeupKit
import Foundation

extension FleetSession {
    /// The session a CLI command uses: environment and home from the process, the timeouts the
    /// flags or the selected hosts ask for, passphrases from the terminal when one is attached.
    init(inventory: Inventory, hosts: [StoreHost], timeouts: TimeoutOptions) {
        let access = HostAccess(
            inventory: inventory, environment: ProcessInfo.processInfo.environment, homeDirectory: NSHomeDirectory())
        self.init(access: access, options: timeouts.sshOptions(for: hosts))
    }
}
