import EdgeupKit
import Foundation
import Testing
import Yams

/// Only edgeup's entries for the same store are ever replaced: a store whose name is taken by the
/// operator's own entry, or by another store's, is skipped, said so, and the entry in the way left
/// exactly as it was.
@Suite struct KubeconfigOwnershipTests {
    let path = "/home/op/.kube/config"

    /// The operator's kubeconfig with a hand-made `store-001` (a real cluster, user and context).
    static let handMade = operatorKubeconfig.replacingOccurrences(
        of: "contexts:\n",
        with: "contexts:\n- name: store-001\n  context: {cluster: store-001, user: store-001}\n"
    ).replacingOccurrences(
        of: "clusters:\n",
        with: "clusters:\n- name: store-001\n  cluster: {server: \"https://shop1.example.com:6443\", certificate-authority: /etc/shop1/ca.pem}\n"
    ).replacingOccurrences(
        of: "users:\n", with: "users:\n- name: store-001\n  user: {token: operators-own}\n")

    @Test func anUnmarkedEntryIsLeftAloneAndItsStoreSkipped() throws {
        let result = try KubeconfigMerger.merge(
            [try storeKubeconfig("store-001"), try storeKubeconfig("store-002")], into: Self.handMade, path: path)
        #expect(result.added == ["store-002"], "the other store still merges")
        #expect(result.replaced.isEmpty && result.unchanged.isEmpty)
        let skip = try #require(result.skipped.first)
        #expect(result.skipped.count == 1)
        #expect(skip.store == "store-001" && skip.context == "store-001" && skip.section == .clusters && skip.owner == nil)
        for section in ["clusters", "users", "contexts"] {
            #expect(try entry(section, "store-001", in: result.text) == entry(section, "store-001", in: Self.handMade), "\(section) kept")
        }
        let error = skip.error
        #expect(error.kind == .notOwned)
        #expect(error.description.hasPrefix(
            "\(path): error: store 'store-001': the kubeconfig already has a cluster named 'store-001' that edgeup did not write; left it unchanged and did not merge the store"))
        #expect(error.hint?.contains("rename your cluster") == true && error.hint?.contains("another 'context:'") == true)

        // Nothing else to merge: the file stays byte for byte as it was.
        let alone = try KubeconfigMerger.merge([try storeKubeconfig("store-001")], into: Self.handMade, path: path)
        #expect(!alone.changed)
        #expect(alone.text == Self.handMade)
    }

    @Test(arguments: [Kubeconfig.Section.clusters, .users, .contexts])
    func anyOneUnmarkedEntryOfTheNameIsEnough(section: Kubeconfig.Section) throws {
        let body = section == .contexts ? "{cluster: prod, user: prod-admin}" : "{}"
        let text = operatorKubeconfig.replacingOccurrences(
            of: "\(section.rawValue):\n", with: "\(section.rawValue):\n- name: store-1\n  \(section.rawValue.dropLast()): \(body)\n")
        let result = try KubeconfigMerger.merge([try storeKubeconfig("store-1")], into: text, path: path)
        #expect(result.skipped.map(\.section) == [section])
        #expect(!result.changed)
    }

    @Test func anUnmarkedDuplicateBehindOurEntryIsNotDropped() throws {
        let merged = try KubeconfigMerger.merge([try storeKubeconfig("store-1")], into: operatorKubeconfig, path: path).text
        // The operator added a context of the same name after ours: replacing ours would drop it.
        var root = try tree(merged)
        let contexts = (root["contexts"]?.sequence.map(Array.init) ?? [])
            + [try #require(try Yams.compose(yaml: "{name: store-1, context: {cluster: prod, user: prod-admin}}"))]
        root[Node("contexts")] = Node(contexts)
        let text = try Yams.serialize(node: .mapping(root))
        let result = try KubeconfigMerger.merge([try storeKubeconfig("store-1", host: "10.0.0.9")], into: text, path: path)
        #expect(result.skipped.map(\.section) == [.contexts])
        #expect(!result.changed)
    }

    @Test func anotherFleetsEntryForAnotherStoreIsNotOurs() throws {
        let eu = try KubeconfigMerger.merge([try storeKubeconfig("store-1", fleet: "eu")], into: operatorKubeconfig, path: path)
        // us.yaml's store "lisbon" is given the context name store-1 (a contextTemplate collision).
        let lisbon = try StoreKubeconfig(
            fetched: k3sYAML(), source: "lisbon:/etc/rancher/k3s/k3s.yaml", context: "store-1", serverHost: "10.9.9.9",
            owner: KubeconfigOwner(fleet: "us", store: "lisbon"))
        let us = try KubeconfigMerger.merge([lisbon], into: eu.text, path: path)
        #expect(!us.changed)
        let skip = try #require(us.skipped.first)
        #expect(skip.owner == KubeconfigOwner(fleet: "eu", store: "store-1"))
        #expect(skip.error.message.contains("a cluster named 'store-1' that edgeup wrote for store 'store-1' of another fleet ('eu')"))
        #expect(skip.error.hint?.hasPrefix("if this inventory is fleet 'eu', pass --fleet 'eu'") == true)
        // The same fleet replaces its own entry.
        let again = try KubeconfigMerger.merge([try storeKubeconfig("store-1", host: "10.9.9.9", fleet: "eu")], into: eu.text, path: path)
        #expect(again.replaced == ["store-1"] && again.skipped.isEmpty)
    }

    /// The default fleet is the inventory files' paths: applying a store from a renamed or split
    /// inventory must still refresh its own entry.
    @Test func theSameStoreFromAnotherInventoryFileIsStillOurs() throws {
        let first = try KubeconfigMerger.merge([try storeKubeconfig("store-1", fleet: "/repo/eu.yaml")], into: operatorKubeconfig, path: path)
        let moved = try KubeconfigMerger.merge(
            [try storeKubeconfig("store-1", host: "10.9.9.9", fleet: "/repo/common.yaml,/repo/eu.yaml")], into: first.text, path: path)
        #expect(moved.replaced == ["store-1"] && moved.skipped.isEmpty)
    }

    @Test func aSkippedStoreNeverBecomesCurrent() throws {
        let result = try KubeconfigMerger.merge(
            [try storeKubeconfig("store-001")], into: Self.handMade, path: path, setCurrent: "store-001")
        #expect(result.currentContext == "prod")
        #expect(!result.changed)
    }

    @Test func theWriterFailsOnlyTheSkippedStore() async throws {
        let folder = try TemporaryFolder()
        let file = KubeconfigFile(path: folder.path + "/config")
        try Self.handMade.write(toFile: file.path, atomically: false, encoding: .utf8)
        let writer = KubeconfigWriter(destination: .merge(file, fleet: "test", setCurrent: false))
        await #expect(throws: KubeconfigError.self) { try await writer.write(try storeKubeconfig("store-001")) }
        try await writer.write(try storeKubeconfig("store-002"))
        let text = try contents(file.path)
        #expect(try names("contexts", in: text) == ["store-001", "prod", "store-002"])
        #expect(try entry("users", "store-001", in: text) == entry("users", "store-001", in: Self.handMade))
    }
}
