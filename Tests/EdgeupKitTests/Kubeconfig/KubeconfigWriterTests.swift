import EdgeupKit
import Foundation
import Testing

/// A hundred stores finishing at once all land in the kubeconfig, through few locked writes.
@Suite struct KubeconfigWriterTests {
    static let fetched = k3sYAML()

    @Test func concurrentStoresAllLand() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeup-writer-\(UUID().uuidString)").path
        let file = KubeconfigFile(path: folder + "/config")
        let writer = KubeconfigWriter(destination: .merge(file, fleet: "test", setCurrent: false))
        let names = (1...100).map { "store-\($0)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for name in names {
                group.addTask {
                    let entry = try StoreKubeconfig(
                        fetched: Self.fetched, source: name, context: name, serverHost: "10.0.0.1",
                        owner: KubeconfigOwner(fleet: "test", store: name))
                    try await writer.write(entry)
                }
            }
            try await group.waitForAll()
        }
        #expect(file.contextNames() == Set(names))
    }
}
