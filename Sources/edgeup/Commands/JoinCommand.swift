import ArgumentParser
import EdgeupKit

struct JoinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Join one machine to an existing k3s cluster: as an agent, or as an HA server with --server.",
        discussion: """
            Reads the cluster's secure token from the server over SSH (never printed, never in \
            argv), writes it into the joiner's config.yaml (0600), installs k3s and waits until the \
            node is Ready.

            Examples:
              edgeup join --host 10.0.0.6 --server-host 10.0.0.5 --user pi
              edgeup join --host 10.0.0.7 --server-host 10.0.0.5 --server --user pi
            """
    )

    @Option(name: .long, help: "Address or name of the machine to join.")
    var host: String

    @Option(name: .customLong("server-host"), help: "Address or name of a server of the cluster.")
    var serverHost: String

    @Flag(name: .long, help: "Join as an additional HA server (embedded etcd) instead of an agent.")
    var server = false

    @Option(name: .customLong("server-user"), help: "SSH user on the server, if different from --user.")
    var serverUser: String?

    @OptionGroup var login: LoginOptions
    @OptionGroup var k3s: K3sOptions
    @OptionGroup var timeouts: TimeoutOptions
    @Option(name: .long, help: "Name of the cluster (as install's --context named it); default: derived from the server.")
    var context: String?

    @Option(name: .customLong("readiness-timeout"), help: "Seconds the node may take to become Ready.")
    var readinessTimeout = 180

    func validate() throws {
        try validateContextFlag(context)
    }

    func run() async throws {
        let request = SingleHostRequest(host: host, login: login, k3s: k3s, context: context)
        let loaded = request.joinInventory(serverHost: serverHost, serverUser: serverUser, asServer: server, loader: InventoryLoader())
        try await convergeSingleHost(loaded, kubeconfig: { _ in .none }, readinessTimeout: readinessTimeout, timeouts: timeouts)
    }
}
