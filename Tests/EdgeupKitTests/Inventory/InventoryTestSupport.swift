import EdgeupKit
import Testing

/// Loads inventories from strings with a fixed home, working directory and environment, so tests are hermetic.
func load(
    _ sources: (String, String)..., environment: [String: String] = [:],
    fileExists: @escaping @Sendable (String) -> Bool = { _ in true }
) -> InventoryLoadResult {
    InventoryLoader(homeDirectory: "/home/op", currentDirectory: "/work", environment: environment, fileExists: fileExists)
        .load(sources: sources.map { (path: $0.0, text: $0.1) })
}

func load(_ text: String, environment: [String: String] = [:]) -> InventoryLoadResult {
    load(("inv.yaml", text), environment: environment)
}

/// The single error whose message contains `fragment`; records a failure listing all diagnostics otherwise.
@discardableResult
func expectError(
    _ result: InventoryLoadResult, containing fragment: String, at position: (Int, Int)? = nil,
    file: String = "inv.yaml", sourceLocation: Testing.SourceLocation = #_sourceLocation
) -> Diagnostic? {
    #expect(result.inventory == nil, "an inventory with errors must not load", sourceLocation: sourceLocation)
    let matches = result.errors.filter { $0.message.contains(fragment) }
    guard matches.count == 1, let match = matches.first else {
        Issue.record(
            "expected one error containing '\(fragment)', got:\n\(result.diagnostics.map(\.description).joined(separator: "\n"))",
            sourceLocation: sourceLocation)
        return nil
    }
    if let position {
        #expect(match.location?.file == file, sourceLocation: sourceLocation)
        #expect(match.location?.line == position.0, "line", sourceLocation: sourceLocation)
        #expect(match.location?.column == position.1, "column", sourceLocation: sourceLocation)
    }
    return match
}
