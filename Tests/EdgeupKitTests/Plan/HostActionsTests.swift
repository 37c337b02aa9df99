@testable import EdgeupKit
import Testing

/// The action registry is the execution order; `ActionKind`'s declaration order (which sorts plan
/// output) must say the same, and every host-level kind must have its action.
struct HostActionsTests {
    @Test func registryOrderIsActionKindOrder() {
        let registered = HostActions.all.map(\.kind)
        #expect(registered == ActionKind.allCases.filter { !$0.isStoreWide })
        #expect(registered == registered.sorted())
    }

    @Test func everyHostLevelKindHasOneAction() {
        for kind in ActionKind.allCases where !kind.isStoreWide {
            #expect(HostActions.all.filter { $0.kind == kind }.count == 1, "\(kind.rawValue)")
        }
        #expect(HostActions.action(.applyPlaybook) == nil)
    }
}
