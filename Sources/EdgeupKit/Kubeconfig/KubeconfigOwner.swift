import Yams

/// The mark edgeup leaves on every cluster, user and context it writes, so `--prune` can tell its own
/// entries from the operator's and from other fleets'.
///
/// It lives in the entry's `extensions` list under the name `edgeup` — the place the kubeconfig format
/// reserves for tools' own data, which kubectl and client-go read and write back unchanged. A name
/// prefix (`edge-…`) would claim the operator's hand-made entries, and a side file could drift from
/// the kubeconfig it describes; the extension travels with the entry.
///
/// `fleet` scopes pruning: `edgeup kubeconfig eu.yaml --prune` must not remove the stores that
/// `us.yaml` wrote into the same kubeconfig.
public struct KubeconfigOwner: Sendable, Hashable {
    /// The `name` of the extension in the `extensions` list.
    public static let extensionName = "edgeup"

    /// Which fleet (a set of inventories, chosen by the caller) wrote the entry.
    public var fleet: String
    /// The store the entry belongs to (its context name may differ: `contextTemplate`).
    public var store: String

    public init(fleet: String, store: String) {
        self.fleet = fleet
        self.store = store
    }

    /// Reads the mark from an entry body (`cluster:`, `user:` or `context:` mapping).
    init?(body: Node) {
        guard let extensions = body["extensions"]?.sequence,
            let mark = extensions.first(where: { $0["name"]?.string == Self.extensionName }),
            let fleet = mark["extension"]?["fleet"]?.string,
            let store = mark["extension"]?["store"]?.string
        else { return nil }
        self.init(fleet: fleet, store: store)
    }

    /// `body` with this mark in its `extensions`, replacing an earlier `edgeup` mark and keeping any other.
    func marking(_ body: Node) -> Node {
        guard var mapping = body.mapping else { return body }
        let others = mapping["extensions"]?.sequence?.filter { $0["name"]?.string != Self.extensionName } ?? []
        let mark = Kubeconfig.mapping([
            ("name", Kubeconfig.string(Self.extensionName)),
            ("extension", Kubeconfig.mapping([("fleet", Kubeconfig.string(fleet)), ("store", Kubeconfig.string(store))])),
        ])
        mapping[Node("extensions")] = Node(others + [mark], Tag(.seq), .block)
        return .mapping(mapping)
    }
}
