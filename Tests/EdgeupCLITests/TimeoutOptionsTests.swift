import EdgeSSH
import EdgeupKit
import EdgeupTestSupport
import Testing

@testable import edgeup

/// `--connect-timeout` / `--command-timeout` on every command that connects: a flag overrides the
/// inventory's `ssh.connectTimeout` / `ssh.commandTimeout`, and one client serves every
/// selected host, so it takes the longest they ask for.
@Suite struct TimeoutOptionsTests {
    func hosts() throws -> [StoreHost] {
        let path = try temporaryFile("""
            defaults: {ssh: {connectTimeout: 15}}
            stores:
              - name: s1
                hosts:
                  - {name: a, address: 10.0.0.1, role: server, ssh: {commandTimeout: 120}}
                  - {name: b, address: 10.0.0.2, role: agent, ssh: {commandTimeout: 900, connectTimeout: 25}}
            """)
        let inventory = try #require(InventoryLoader().load(paths: [path]).inventory)
        return inventory.stores.flatMap { store in store.hosts.map { StoreHost(store: store, host: $0) } }
    }

    @Test func theInventoryDecidesWithoutFlags() throws {
        let options = try TimeoutOptions.parse([]).connection.clientOptions(for: hosts())
        #expect(options.connectTimeout == .seconds(25))
        #expect(options.commandTimeout == .seconds(900))
        let unset = try TimeoutOptions.parse([]).connection.clientOptions(for: [])
        #expect(unset.connectTimeout == .seconds(10))
        #expect(unset.commandTimeout == nil, "each step keeps its own limit")
    }

    @Test func flagsOverrideTheInventory() throws {
        let options = try TimeoutOptions.parse(["--connect-timeout", "3", "--command-timeout", "30"]).connection.clientOptions(for: hosts())
        #expect(options.connectTimeout == .seconds(3))
        #expect(options.commandTimeout == .seconds(30))
    }

    @Test func everyFleetCommandTakesThemAndChecksThem() throws {
        for command in ["plan", "apply", "exec", "kubeconfig", "status", "install", "join"] {
            let help = try EdgeupTestSupport.edgeup([command, "--help"]).stdout
            #expect(help.contains("--connect-timeout <seconds>"), "\(command)")
            #expect(help.contains("--command-timeout <seconds>"), "\(command)")
        }
        let zero = try EdgeupTestSupport.edgeup(["plan", "inventories/example.yaml", "--command-timeout", "0"])
        #expect(zero.status == 64)
        #expect(zero.stderr.contains("--command-timeout must be a positive number of seconds"))
    }
}
