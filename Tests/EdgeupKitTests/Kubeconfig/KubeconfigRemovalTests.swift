import EdgeupKit
import Foundation
import Testing

/// `edgeup reset` removes a store's kubeconfig entries only where edgeup wrote them for that store.
@Suite struct KubeconfigRemovalTests {
    let path = "/home/op/.kube/config"

    func name(_ store: String, fleet: String = "test") -> StoreKubeconfigName {
        StoreKubeconfigName(context: store, owner: KubeconfigOwner(fleet: fleet, store: store))
    }

    @Test func onlyTheResetStoresEntriesGo() throws {
        let merged = try KubeconfigMerger.merge(
            [try storeKubeconfig("store-001"), try storeKubeconfig("store-002")], into: operatorKubeconfig, path: path,
            setCurrent: "store-001").text
        let result = try KubeconfigMerger.removing([name("store-001")], from: merged, path: path)
        #expect(result.removed == ["store-001"])
        #expect(result.changed && result.currentContext == nil, "a removed current context leaves none current")
        #expect(!result.text.contains("name: store-001"))
        #expect(result.text.contains("name: store-002") && result.text.contains("name: prod"), "\(result.text)")
        let again = try KubeconfigMerger.removing([name("store-001")], from: result.text, path: path)
        #expect(!again.changed && again.removed.isEmpty && again.text == result.text, "a second reset changes nothing")
    }

    @Test func aHandMadeEntryOfTheSameNameStays() throws {
        let handMade = operatorKubeconfig.replacingOccurrences(
            of: "users:\n", with: "users:\n- name: store-001\n  user: {token: operators-own}\n")
        let result = try KubeconfigMerger.removing([name("store-001")], from: handMade, path: path)
        #expect(!result.changed && result.removed.isEmpty)
        #expect(result.text == handMade)
    }

    @Test func confirmationWantsTheNameOrTheCount() throws {
        let inventory = try load(("inv.yaml", """
            stores:
              - name: shop-1
                hosts: [{address: 10.0.0.1, role: server}]
              - name: shop-2
                protected: true
                hosts: [{address: 10.0.0.2, role: server}]
            """)).get()
        let (one, both) = ([inventory.stores[0]], inventory.stores)
        #expect(StoreConfirmation.accepts("shop-1\n", for: one) && !StoreConfirmation.accepts("1", for: one))
        #expect(StoreConfirmation.accepts(" 2 ", for: both) && !StoreConfirmation.accepts("yes", for: both))
        #expect(StoreConfirmation.prompt(for: both).hasSuffix("Type the number of stores (2) to confirm: "))
        #expect(!inventory.stores[0].isProtected && inventory.stores[1].isProtected)
    }

    @Test func protectedMustBeABoolean() throws {
        let result = load(("inv.yaml", """
            stores:
              - name: shop-1
                protected: maybe
                hosts: [{address: 10.0.0.1, role: server}]
            """))
        let error = try #require(result.errors.first)
        #expect(error.description.contains("inv.yaml:3:"), "\(error)")
        #expect(error.description.contains("protected"), "\(error)")
    }
}
