import EdgeSSH
@testable import EdgeupKit
import Testing

/// `edgeup ssh`'s words and target, resolved against an inventory without any network.
@Suite struct ShellTargetTests {
    static let fleet = """
        defaults:
          ssh: {sudo: true}
        gateways:
          - {name: gw-042, address: 100.64.0.42}
        stores:
          - name: store-042
            via: gw-042
            hosts:
              - {name: pi-agent, address: 192.168.50.21, role: agent}
              - {name: pi-server, address: 192.168.50.11, role: server}
              - {name: pi-old, address: 192.168.50.22, role: agent, remove: true}
          - name: store-043
            hosts:
              - {name: nuc, address: 10.0.0.5, role: server, ssh: {sudoPasswordEnv: NUC_SUDO}}
              - {name: root-box, address: 10.0.0.6, role: agent, ssh: {user: root, sudo: false}}
        """

    func inventory() throws -> Inventory { try load(Self.fleet).get() }

    func resolve(_ text: String) throws -> StoreHost {
        try ShellTarget(parsing: text).resolve(in: try inventory())
    }

    @Test func parsesStoreAndHost() throws {
        #expect(try ShellTarget(parsing: "store-042") == ShellTarget(store: "store-042"))
        #expect(try ShellTarget(parsing: "store-042/pi") == ShellTarget(store: "store-042", host: "pi"))
        for bad in ["", "/pi", "store-042/", "a/b/c"] {
            #expect(throws: ShellTargetError.malformed(bad)) { try ShellTarget(parsing: bad) }
        }
    }

    @Test func theDefaultHostIsTheFirstServer() throws {
        let target = try resolve("store-042")
        #expect(target.label == "store-042/pi-server")
        #expect(try resolve("store-042/pi-agent").label == "store-042/pi-agent")
        #expect(try resolve("store-042/pi-old").label == "store-042/pi-old", "a host being removed is still a machine to look at")
    }

    @Test func withoutAServerTheHostMustBeNamed() throws {
        var inventory = try inventory()
        inventory.stores[0].hosts = inventory.stores[0].agents
        #expect(throws: ShellTargetError.noServer(store: "store-042")) { try ShellTarget(store: "store-042").resolve(in: inventory) }
        #expect(try ShellTarget(store: "store-042", host: "pi-agent").resolve(in: inventory).label == "store-042/pi-agent")
    }

    @Test func theTargetCarriesTheGatewayChainAndItsKnownHostsName() throws {
        let target = try resolve("store-042/pi-agent")
        let ssh = HostAccess(inventory: try inventory(), environment: [:], homeDirectory: "/home/op").target(for: target.host, in: target.store)
        #expect(ssh.gateways.map(\.label) == ["gw-042"])
        #expect(ssh.host.knownHostsName == "gw-042/192.168.50.21")
    }

    @Test func anUnknownStoreSuggestsTheClosestName() throws {
        #expect(throws: ShellTargetError.unknownStore("store-04", suggestion: "store-042")) { try resolve("store-04") }
        #expect(throws: ShellTargetError.unknownStore("warehouse", suggestion: nil)) { try resolve("warehouse") }
        let error = ShellTargetError.unknownStore("store-04", suggestion: "store-042")
        #expect(error.description == "no store 'store-04' in the inventory; did you mean 'store-042'?")
        #expect(error.exitCode == 255)
    }

    @Test func anUnknownHostListsTheStoresHosts() throws {
        let expected = ShellTargetError.unknownHost(
            store: "store-042", host: "pi-servr", hosts: ["pi-server", "pi-agent", "pi-old"], suggestion: "pi-server")
        #expect(throws: expected) { try resolve("store-042/pi-servr") }
        #expect(expected.description == "store store-042 has no host 'pi-servr' (did you mean 'pi-server'?); its hosts: pi-server, pi-agent, pi-old")
    }

    @Test func wordsSplitIntoFilesTargetAndCommand() throws {
        let both = try ShellInvocation(words: ["a.yaml", "b.yaml", "store-042/pi", "uptime"], commandWordCount: 1, environment: [:])
        #expect(both.files == ["a.yaml", "b.yaml"] && both.command == ["uptime"])
        #expect(both.target == ShellTarget(store: "store-042", host: "pi"))
        let shell = try ShellInvocation(words: ["a.yaml", "store-042"], commandWordCount: 0, environment: ["EDGEUP_INVENTORY": "x.yaml"])
        #expect(shell.files == ["a.yaml"], "files given win over the variable")
        #expect(shell.command.isEmpty && shell.commandLine == nil)
        let fromEnvironment = try ShellInvocation(words: ["store-042", "id"], commandWordCount: 1, environment: ["EDGEUP_INVENTORY": "a.yaml:b.yaml"])
        #expect(fromEnvironment.files == ["a.yaml", "b.yaml"])
        #expect(fromEnvironment.target == ShellTarget(store: "store-042"))
    }

    @Test func missingWordsAreUsageErrors() {
        #expect(throws: ShellUsageError.self) { try ShellInvocation(words: ["store-042"], commandWordCount: 0, environment: [:]) }
        #expect(throws: ShellUsageError.self) { try ShellInvocation(words: ["uptime"], commandWordCount: 1, environment: ["EDGEUP_INVENTORY": "a.yaml"]) }
        #expect(throws: ShellUsageError.self) { try ShellInvocation(words: ["a.yaml", "x/y/z"], commandWordCount: 0, environment: [:]) }
    }

    @Test func oneCommandWordIsALineSeveralAreAnArgv() throws {
        func line(_ command: [String]) throws -> String? {
            try ShellInvocation(words: ["a.yaml", "s"] + command, commandWordCount: command.count, environment: [:]).commandLine
        }
        #expect(try line(["df -h; uptime"]) == "df -h; uptime")
        #expect(try line(["sh", "-c", "exit 7"]) == "sh -c 'exit 7'")
        #expect(try line(["echo", "$(reboot)"]) == "echo '$(reboot)'")
    }

    @Test func aPseudoTerminalForTheShellOnATerminalOnlyUnlessForced() {
        #expect(TerminalChoice.automatic.wantsTerminal(command: false, stdinIsTerminal: true))
        #expect(!TerminalChoice.automatic.wantsTerminal(command: false, stdinIsTerminal: false))
        #expect(!TerminalChoice.automatic.wantsTerminal(command: true, stdinIsTerminal: true))
        #expect(TerminalChoice.forced.wantsTerminal(command: true, stdinIsTerminal: false))
        #expect(!TerminalChoice.disabled.wantsTerminal(command: false, stdinIsTerminal: true))
    }

    func request(_ text: String, command: String?, terminal: Bool, sudo: Bool, environment: [String: String] = [:]) throws -> ShellRequest {
        let inventory = try inventory()
        let connection = ConnectionOptions(commandTimeoutSeconds: 30, environment: environment, homeDirectory: "/home/op")
        let options = ShellOptions(
            inventory: inventory, target: try ShellTarget(parsing: text), command: command, sudo: sudo,
            connection: connection, stdinIsTerminal: terminal, terminalType: nil)
        return try options.request(for: try options.target.resolve(in: inventory), access: HostAccess(inventory: inventory, environment: environment, homeDirectory: "/home/op"))
    }

    @Test func sudoFollowsTheHostsSettings() throws {
        let shell = try request("store-042", command: nil, terminal: true, sudo: true)
        #expect(shell.terminalType == "xterm" && shell.sudo == .passwordless && shell.timeout == .seconds(30))
        #expect(try request("store-042", command: "id", terminal: true, sudo: false).sudo == .none)
        #expect(try request("store-043/root-box", command: "id", terminal: false, sudo: true).sudo == .none, "root needs no sudo")
        // Without a terminal the password comes from its variable, never typed by the operator.
        let password = try request("store-043/nuc", command: "id", terminal: false, sudo: true, environment: ["NUC_SUDO": "s3cret"])
        #expect(password.terminalType == nil && password.sudo == .password(Secret("s3cret")))
        #expect(throws: SSHError.self) { try request("store-043/nuc", command: "id", terminal: false, sudo: true) }
        // On a terminal sudo asks there: no variable needed.
        #expect(try request("store-043/nuc", command: nil, terminal: true, sudo: true).sudo == .passwordless)
    }
}
