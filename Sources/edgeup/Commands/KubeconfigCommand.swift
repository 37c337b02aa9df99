import ArgumentParser
import EdgeupKit

struct KubeconfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubeconfig",
        abstract: "Fetch each selected store's kubeconfig and merge it into your local kubeconfig.",
        discussion: """
            Reads /etc/rancher/k3s/k3s.yaml from each store's first server (through sudo), renames \
            cluster, user and context to the store's context name, points the server at the \
            store's API endpoint and merges it atomically under <kubeconfig>.lock. Touches no cluster.

            Example:
              edgeup kubeconfig inventories/coffee-shops.yaml --stores store-042
              kubectl --context store-042 get nodes
            """
    )

    @OptionGroup var inventory: InventoryArguments
    @OptionGroup var selection: SelectionOptions

    func run() async throws {
        _ = try inventory.load()
        throw notImplemented("kubeconfig (fetch and merge)")
    }
}
