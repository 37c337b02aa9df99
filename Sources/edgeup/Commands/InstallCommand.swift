import ArgumentParser
import EdgeupKit
import Foundation

struct InstallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Install a k3s server on one machine over SSH (SQLite, or the first HA server with --cluster).",
        discussion: """
            Verifies the host key, installs k3s (uploading --k3s-binary for air-gapped sites), \
            writes /etc/rancher/k3s/config.yaml (0600), waits until the node is Ready and merges \
            the kubeconfig into yours.

            Examples:
              edgeup install --host 10.0.0.5 --user pi
              edgeup install --host 10.0.0.5 --user pi --cluster --tls-san k3s.example.com
              edgeup install --host 10.0.0.5 --k3s-binary ./bundles/k3s --k3s-version v1.31.4+k3s1
            """
    )

    @Option(name: .long, help: "Address or name of the machine.")
    var host: String

    @Flag(name: .long, help: "Start an HA cluster with embedded etcd (cluster-init) instead of SQLite.")
    var cluster = false

    @OptionGroup var login: LoginOptions
    @OptionGroup var k3s: K3sOptions
    @Option(name: .long, help: "Context (and cluster/user) name in the kubeconfig, a DNS subdomain; default: derived from the host.")
    var context: String?

    @OptionGroup var kubeconfig: KubeconfigOptions
    @OptionGroup var timeouts: TimeoutOptions

    @Option(name: .customLong("readiness-timeout"), help: "Seconds the node may take to become Ready.")
    var readinessTimeout = 180

    func validate() throws {
        try validateContextFlag(context)
    }

    func run() async throws {
        let request = SingleHostRequest(host: host, login: login, k3s: k3s, context: context)
        try await convergeSingleHost(
            request.installInventory(cluster: cluster, loader: InventoryLoader()), kubeconfig: kubeconfig.destination(for:),
            readinessTimeout: readinessTimeout, timeouts: timeouts)
    }
}
