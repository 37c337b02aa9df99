import EdgeupKit
import Foundation
import Testing

/// Context names are DNS subdomains wherever they come from — inventory `context:`, `contextTemplate`,
/// install's `--context` — and again where they name a file (`--no-merge`).
@Suite struct ContextNameTests {
    @Test(arguments: ["../x", "a/b", "Prod", "-x", "x-", "a..b", ".x", "", "x y", "x;id", String(repeating: "a", count: 254)])
    func invalidNames(name: String) {
        #expect(StoreKubeconfig.contextNameProblem(name) != nil, "\(name)")
    }

    @Test(arguments: ["store-042", "edge.store-042", "1234", "a", String(repeating: "a.", count: 126) + "a"])
    func validNames(name: String) {
        #expect(StoreKubeconfig.contextNameProblem(name) == nil, "\(name)")
    }

    @Test func inventoryContextIsCheckedAtItsLocation() {
        let result = load("""
            stores:
              - name: s1
                context: ../x
                hosts: [{address: 10.0.0.1, role: server}]
            """)
        let error = expectError(result, containing: "context name '../x' has a part that is empty", at: (3, 14))
        #expect(error?.hint?.contains("DNS subdomain") == true)
    }

    @Test func contextTemplateIsCheckedOnceAtTheTemplate() {
        let result = load("""
            defaults:
              contextTemplate: "Edge/{store}"
            stores:
              - {name: s1, hosts: [{address: 10.0.0.1, role: server}]}
              - {name: s2, hosts: [{address: 10.0.0.2, role: server}]}
            """)
        expectError(
            result, containing: "contextTemplate gives store 's1' the context name 'Edge/s1', which has a part that may contain only", at: (2, 20))
        #expect(!result.errors.contains { $0.message.contains("'s2'") }, "one error per template")
    }

    @Test func aTooLongTemplateResultIsCaught() {
        let result = load("""
            defaults: {contextTemplate: "\(String(repeating: "a", count: 63)).\(String(repeating: "b", count: 63)).\(String(repeating: "c", count: 63)).{store}"}
            stores:
              - {name: \(String(repeating: "s", count: 63)), hosts: [{address: 10.0.0.1, role: server}]}
            """)
        expectError(result, containing: "which is longer than 253 characters", at: (1, 29))
    }

    @Test func aDottedContextIsFine() throws {
        let inventory = try load("""
            stores:
              - {name: s1, context: s1.eu.example, hosts: [{address: 10.0.0.1, role: server}]}
            """).get()
        #expect(inventory.stores[0].context == "s1.eu.example")
    }

    @Test func installsContextNamesTheEntriesAndTheStoreTakesItsLabelForm() throws {
        let loader = InventoryLoader(homeDirectory: "/home/op", currentDirectory: "/work")
        let inventory = try SingleHostRequest(host: "10.0.0.5", user: "pi", context: "shop.eu")
            .installInventory(cluster: false, loader: loader).get()
        #expect(inventory.stores[0].name == "shop-eu")
        #expect(inventory.stores[0].context == "shop.eu")
        let join = try SingleHostRequest(host: "10.0.0.6", user: "pi", context: "shop.eu")
            .joinInventory(serverHost: "10.0.0.5", serverUser: nil, asServer: false, loader: loader).get()
        #expect(join.stores[0].name == "shop-eu", "join finds the store install made")
    }

    @Test func theWriteBoundaryRefusesANameThatLeavesTheFolder() async throws {
        let folder = try TemporaryFolder()
        #expect(throws: KubeconfigError.self) { try storeKubeconfig("../x") }
        var escaping = try storeKubeconfig("x")
        escaping.context = "../../x"
        let directory = folder.path + "/a/b"
        do {
            _ = try await KubeconfigFile.writeSeparately([escaping], to: directory)
            Issue.record("wrote \(directory)/../../x.yaml")
        } catch {
            #expect(error.kind == .invalidName)
            #expect(error.message.contains("store 'x': context name '../../x'"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/x.yaml"))
        let written = try await KubeconfigFile.writeSeparately([try storeKubeconfig("x")], to: directory)
        #expect(written.map(\.path) == [directory + "/x.yaml"])
        #expect(try mode(directory + "/x.yaml") == 0o600)
    }
}
